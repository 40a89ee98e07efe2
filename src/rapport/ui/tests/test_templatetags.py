"""Display helpers of ``{% load ui_tags %}``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.test import RequestFactory
from django.utils import timezone

from rapport.ui.templatetags import ui_tags
from rapport.ui.views import Column, htmx_target


def test_money():
    assert ui_tags.money(Decimal("1234.5"), "EUR") == "€1,234.50"
    assert ui_tags.money(Decimal("1234.5"), "JPY") == "¥1,234.5"  # never rounded away
    assert ui_tags.money(Decimal("1234.50"), "USD") == "$1,234.50"
    assert ui_tags.money(None, "USD") == ""
    assert ui_tags.money(Decimal("10"), "???") == "10 ???"


def test_country_name():
    assert ui_tags.country_name("DE") == "Germany"
    assert ui_tags.country_name("gb") == "United Kingdom"
    assert ui_tags.country_name("") == ""
    assert ui_tags.country_name("QQ") == "QQ"


def test_when_shows_a_relative_time_with_the_exact_one_on_hover():
    moment = timezone.now() - dt.timedelta(hours=3)
    out = str(ui_tags.when(moment))
    assert out.startswith(f'<time datetime="{moment.isoformat()}" title="')
    assert "3\xa0hours ago" in out
    assert ui_tags.when(None) == "—"


def test_change_value():
    assert ui_tags.change_value(None) == "—"
    assert ui_tags.change_value("") == "—"
    assert ui_tags.change_value(["a", "b"]) == "a, b"
    assert ui_tags.change_value(True) == "Yes"
    assert ui_tags.change_value({"city": "Paris", "street": ""}) == "city: Paris"


def test_source_label():
    assert ui_tags.source_label("ui") == "the web app"
    assert ui_tags.source_label("api") == "the API"
    assert ui_tags.source_label("import:42") == "an import"


def test_query_keeps_filters_and_drops_blanks():
    request = RequestFactory().get("/people/?q=ada&email=&sort=email&cursor=abc")
    assert ui_tags._query(request, cursor=None) == "?q=ada&sort=email"
    assert ui_tags._query(request, sort="-email", cursor=None) == "?q=ada&sort=-email"
    assert ui_tags._query(RequestFactory().get("/people/?cursor=x"), cursor=None) == "?"


def test_sort_header_flips_the_active_column():
    request = RequestFactory().get("/people/?sort=last_name&cursor=x")
    from rapport.core.pagination import Sort

    name = Column("Name", sort="last_name")
    active = ui_tags.sort_th({"request": request}, name, Sort("last_name", False))
    assert active["aria_sort"] == "ascending" and active["href"] == "?sort=-last_name"
    updated = Column("Updated", sort="updated_at", descending_first=True)
    other = ui_tags.sort_th({"request": request}, updated, Sort("last_name", False))
    assert other["aria_sort"] == "" and other["href"] == "?sort=-updated_at"
    plain = ui_tags.sort_th({"request": request}, Column("Phone"), Sort("last_name", False))
    assert plain["href"] == ""


def test_htmx_target():
    rf = RequestFactory()
    assert htmx_target(rf.get("/")) == ""
    assert htmx_target(rf.get("/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="list-results")) == (
        "list-results"
    )
    restore = rf.get(
        "/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="list-results",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )
    assert htmx_target(restore) == ""

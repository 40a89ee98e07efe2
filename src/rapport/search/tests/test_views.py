"""The search results page and the command palette partial."""

from __future__ import annotations

import uuid

import pytest

from rapport.core.actors import Role
from rapport.testing.clients import make_browser
from rapport.testing.factories import CompanyFactory, PersonFactory, actor_for

pytestmark = pytest.mark.django_db


def _person(actor, first: str, last: str, **extra):
    # The factory's default address (example.test) is refused by the email validator.
    extra.setdefault("email", f"{uuid.uuid4().hex[:12]}@example.com")
    return PersonFactory(actor=actor, first_name=first, last_name=last, **extra)


def _text(r) -> str:
    return " ".join(r.content.decode().split())


def test_results_page_finds_people_and_companies_despite_a_typo(browser):
    actor = actor_for(browser.membership)
    ada = _person(actor, "Ada", "Lovelace", title="Countess")
    company = CompanyFactory(actor=actor, name="Lovelace Analytics", domain="lovelace.example")
    _person(actor, "Charles", "Babbage")

    r = browser.get("/search/", {"q": "lovlace"})
    assert r.status_code == 200
    html = _text(r)
    assert f'href="/people/{ada.pk}/"' in html
    assert f'href="/companies/{company.pk}/"' in html
    assert "Ada Lovelace" in html
    assert "Babbage" not in html
    assert "for “lovlace”" in html


def test_results_page_empty_states(browser):
    r = browser.get("/search/")
    assert r.status_code == 200
    assert "Search people, companies and deals by name" in _text(r)
    r = browser.get("/search/", {"q": "zzzqqqxxx"})
    assert r.status_code == 200
    assert "Nothing matches “zzzqqqxxx”." in _text(r)


def test_palette_partial_returns_list_items(browser):
    actor = actor_for(browser.membership)
    ada = _person(actor, "Ada", "Lovelace", email="ada@lovelace.example.com")
    r = browser.get("/search/palette/", {"q": "ada lovelce"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    html = r.content.decode()
    assert "<html" not in html  # a fragment, not a page
    assert html.lstrip().startswith("<li>")
    assert f'<li><a href="/people/{ada.pk}/"' in html
    assert "Ada Lovelace <small>" in html
    assert 'href="/search/?q=ada%20lovelce"' in html  # "see all results"


def test_palette_empty_states(browser):
    html = browser.get("/search/palette/", {"q": ""}).content.decode()
    assert "<a " not in html
    assert "Type a name" in html
    html = browser.get("/search/palette/", {"q": "zzzqqqxxx"}).content.decode()
    assert "<a " not in html
    assert "Nothing matches “zzzqqqxxx”." in html


def test_another_workspaces_records_never_appear(browser):
    _, other = make_browser(Role.OWNER)
    foreign = _person(actor_for(other), "Grace", "Hopper")
    CompanyFactory(actor=actor_for(other), name="Hopper Industries", domain="hopper.example")
    mine = _person(actor_for(browser.membership), "Grace", "Kelly")
    for url in ("/search/", "/search/palette/"):
        html = browser.get(url, {"q": "grace"}).content.decode()
        assert f"/people/{mine.pk}/" in html
        assert str(foreign.pk) not in html
        assert "Hopper" not in html


def test_read_only_members_can_search(browser):
    mine = _person(actor_for(browser.membership), "Alan", "Turing")
    client, _ = make_browser(Role.READ_ONLY, workspace=browser.membership.workspace)
    assert f"/people/{mine.pk}/" in client.get("/search/", {"q": "turing"}).content.decode()


def test_html_in_names_and_queries_is_escaped(browser):
    _person(actor_for(browser.membership), "<script>alert(1)</script>", "Evil")
    for url in ("/search/", "/search/palette/"):
        html = browser.get(url, {"q": "<script>alert(1)</script>"}).content.decode()
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    html = browser.get("/search/", {"q": "evil"}).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Evil" in html


def test_search_needs_a_signed_in_user(client):
    r = client.get("/search/", {"q": "x"})
    assert r.status_code == 302
    assert r["Location"].startswith("/accounts/login/")
    assert client.get("/search/palette/", {"q": "x"}).status_code == 302


def test_a_very_long_query_is_fine(browser):
    r = browser.get("/search/", {"q": "a" * 5000})
    assert r.status_code == 200


def test_palette_after_the_session_ended_redirects_the_whole_tab(client):
    r = client.get(
        "/search/palette/",
        {"q": "x"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/people/",
    )
    assert r.status_code == 200
    assert r.content == b""
    assert r["HX-Redirect"] == "/accounts/login/?next=/people/"

"""The deals board in a real browser: drag a card to another stage, move one by keyboard into
a stage that asks for a lost reason, and the board on a phone (it scrolls inside itself)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from django.utils import timezone

from rapport.core.actors import Role
from rapport.sales import services
from rapport.sales.models import Deal, DealStatus, LostReason
from rapport.testing.browser import assert_no_horizontal_scroll, login, screenshot
from rapport.testing.factories import (
    PASSWORD,
    CompanyFactory,
    DealFactory,
    MembershipFactory,
    PipelineFactory,
    actor_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("RAPPORT_BOARD_SHOTS", "/tmp/shots_board"))  # noqa: S108


def shot(page, name: str) -> None:
    path = screenshot(page, name)
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / path.name).write_bytes(path.read_bytes())


def _seed():
    owner = MembershipFactory(
        role=Role.OWNER.value,
        user__full_name="Olivia Owner",
        workspace__default_currency="EUR",
    )
    actor = actor_for(owner)
    services.lost_reason_create(actor=actor, name="Price")
    pipeline = PipelineFactory(actor=actor, name="Sales")
    stages = {s.name: s for s in pipeline.stages.all()}
    proposal = stages["Proposal"]
    proposal.rotting_days = 7
    proposal.save(update_fields=["rotting_days"])
    services.exchange_rate_set(
        actor=actor, currency="USD", rate="0.92", valid_from=dt.date(2024, 1, 1)
    )
    acme = CompanyFactory(actor=actor, name="Acme Industries")
    made = {}
    for name, stage, amount, currency in [
        ("Acme — 50 seats", "Qualification", "12000.00", "EUR"),
        ("Globex renewal", "Qualification", "8000.00", "USD"),
        ("Initech pilot", "Needs analysis", "3500.00", "EUR"),
        ("Umbrella expansion with a rather long deal name", "Proposal", "45000.00", "USD"),
        ("Hooli platform", "Negotiation", "99000.00", "EUR"),
    ]:
        made[name] = DealFactory(
            actor=actor,
            name=name,
            pipeline=str(pipeline.pk),
            stage=str(stages[stage].pk),
            amount={"amount": amount, "currency": currency},
            close_date="2030-03-31",
            company=str(acme.pk),
        )
    Deal.objects.filter(pk=made["Umbrella expansion with a rather long deal name"].pk).update(
        stage_entered_at=timezone.now() - dt.timedelta(days=12)
    )
    return owner, pipeline, stages, made


def test_drag_a_card_and_move_one_by_keyboard(page, live_server):
    owner, _pipeline, stages, made = _seed()
    login(page, live_server, owner.user.email, PASSWORD)
    page.goto(f"{live_server.url}/deals/")
    page.wait_for_selector(".deal-card")
    page.wait_for_load_state("networkidle")
    assert page.locator(".deal-card.is-rotting").count() == 1
    assert "Rotting: 12 days in stage" in page.locator(".deal-card.is-rotting").inner_text()
    shot(page, "board-desktop")

    # Drag "Acme" from Qualification to Needs analysis.
    acme = made["Acme — 50 seats"]
    card = page.locator(f"#deal-card-{acme.pk}")
    target = page.locator(f'.board-cards[data-column="{stages["Needs analysis"].pk}"]')
    card.drag_to(target)
    page.wait_for_function(
        "id => document.querySelector('#board-status').textContent.includes('Moved')",
        arg=str(acme.pk),
        timeout=5000,
    )
    acme.refresh_from_db()
    assert acme.stage_id == stages["Needs analysis"].pk
    head = page.locator(f'[data-col-head="{stages["Needs analysis"].pk}"]')
    assert "2 deals" in head.inner_text()

    # Keyboard: Hooli to Lost asks for the lost reason, then moves.
    hooli = made["Hooli platform"]
    select = page.locator(f"#move-{hooli.pk}")
    select.focus()
    select.select_option(str(stages["Lost"].pk))
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    dialog = page.locator("#board-move-dialog")
    dialog.wait_for(state="visible")
    assert "Lost reason" in dialog.inner_text()
    shot(page, "board-desktop-lost-reason")
    reason = LostReason.objects.get(workspace=owner.workspace, name="Price")
    dialog.locator("select[name=lost_reason]").select_option(str(reason.pk))
    dialog.locator("textarea[name=lost_note]").fill("Budget went elsewhere")
    dialog.get_by_role("button", name="Move to Lost").click()
    dialog.wait_for(state="hidden")
    page.wait_for_selector(f'.board-cards[data-column="{stages["Lost"].pk}"] #deal-card-{hooli.pk}')
    hooli.refresh_from_db()
    assert hooli.status == DealStatus.LOST and hooli.lost_reason_id == reason.pk
    shot(page, "board-desktop-after-moves")

    page.goto(f"{live_server.url}/deals/table/")
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name=f"Edit name of {acme.name}").click()
    box = page.locator(".deal-cell input[name=name]")
    box.fill("Acme — 60 seats")
    box.press("Enter")
    page.wait_for_selector("text=Acme — 60 seats")
    acme.refresh_from_db()
    assert acme.name == "Acme — 60 seats"
    shot(page, "deal-table-desktop")


def test_the_board_on_a_phone(chromium, live_server):
    owner, _pipeline, stages, made = _seed()
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    try:
        login(page, live_server, owner.user.email, PASSWORD)
        page.goto(f"{live_server.url}/deals/")
        page.wait_for_selector(".deal-card")
        page.wait_for_load_state("networkidle")
        shot(page, "board-phone")
        assert_no_horizontal_scroll(page)
        # The board scrolls inside its own box.
        assert page.evaluate(
            "(() => { const b = document.querySelector('.board');"
            " return b.scrollWidth > b.clientWidth; })()"
        )
        # Move without dragging: the card's menu.
        initech = made["Initech pilot"]
        page.locator(f"#move-{initech.pk}").select_option(str(stages["Proposal"].pk))
        page.locator(f"#deal-card-{initech.pk} .deal-card-move button").tap()
        page.wait_for_selector(
            f'.board-cards[data-column="{stages["Proposal"].pk}"] #deal-card-{initech.pk}'
        )
        initech.refresh_from_db()
        assert initech.stage_id == stages["Proposal"].pk
        assert_no_horizontal_scroll(page)

        page.goto(f"{live_server.url}/deals/table/")
        page.wait_for_load_state("networkidle")
        assert_no_horizontal_scroll(page)
        shot(page, "deal-table-phone")
    finally:
        context.close()

"""Lead pages in a real browser: no CSP violations, no horizontal scroll on a phone, convert."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from rapport.sales import lead_services as services
from rapport.testing.browser import assert_no_horizontal_scroll, login, screenshot
from rapport.testing.factories import PASSWORD, PipelineFactory, actor_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("rapport.sales.tests.test_leads_urlconf"),
]


def watch(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_list_detail_and_convert(request, live_server, owner, device):
    services.register()
    PipelineFactory(actor=actor_for(owner))
    page = request.getfixturevalue("page" if device == "desktop" else "phone_page")
    actor = actor_for(owner)
    services.scoring_rule_create(
        actor=actor,
        data={
            "kind": "field",
            "field": "title",
            "operator": "contains",
            "value": "VP",
            "points": 10,
        },
    )
    lead = services.lead_create(
        actor=actor,
        data={
            "first_name": "Victoria",
            "last_name": "Longname-Withaverylongsurname",
            "email": "victoria.longname@averyveryverylongcompanydomain.example",
            "company_name": "Very Long Company Name Incorporated International",
            "title": "VP Engineering",
            "status": "qualified",
            "source": "Conference",
        },
    )
    errors = watch(page)
    login(page, live_server, owner.user.email, PASSWORD)
    page.goto(f"{live_server.url}/leads/")
    expect(page.get_by_role("heading", name="Leads")).to_be_visible()
    expect(page.get_by_role("link", name="Victoria Longname-Withaverylongsurname")).to_be_visible()
    assert_no_horizontal_scroll(page)
    screenshot(page, f"sales-leads-{device}")

    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    expect(page.get_by_text("+10 title contains 'VP'")).to_be_visible()
    assert_no_horizontal_scroll(page)
    screenshot(page, f"sales-lead-{device}")
    page.get_by_role("button", name="Convert lead").click()
    page.wait_for_url(f"{live_server.url}/people/**")
    lead.refresh_from_db()
    assert lead.converted_deal is not None
    assert lead.converted_deal.name == "Very Long Company Name Incorporated International deal"
    assert errors == []


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_timeline_quick_add_and_edit(request, live_server, owner, device):
    services.register()
    page = request.getfixturevalue("page" if device == "desktop" else "phone_page")
    actor = actor_for(owner)
    lead = services.lead_create(
        actor=actor,
        data={
            "first_name": "Maximiliana",
            "last_name": "Verylongfamilyname-Doublebarrelled",
            "email": "maximiliana.verylongfamilyname@an-exceedingly-long-domain.example",
            "company_name": "Exceedingly Long Company Name Holdings",
            "title": "Head of Procurement",
            "source": "Conference",
            "tags": ["vip", "conference-2026"],
        },
    )
    errors = watch(page)
    login(page, live_server, owner.user.email, PASSWORD)
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    page.locator("#quick-add textarea[name=body]").fill("Asked for a demo next week")
    page.locator("#quick-add").get_by_role("button", name="Log it").click()
    expect(page.locator("#timeline")).to_contain_text("Asked for a demo next week")
    assert_no_horizontal_scroll(page)
    screenshot(page, f"sales-lead-timeline-{device}")

    page.get_by_role("button", name="Edit", exact=True).click()
    expect(page.get_by_role("heading", name="Edit Maximiliana")).to_be_visible()
    page.get_by_label("Job title").fill("")
    page.get_by_label("Email").fill("not-an-email")
    # Enter submits (on a phone the header moving while scrolling can swallow a tap)
    page.get_by_label("Email").press("Enter")
    expect(page.get_by_text("Nothing was saved.")).to_be_visible()
    assert_no_horizontal_scroll(page)
    screenshot(page, f"sales-lead-edit-{device}")
    page.get_by_label("Email").fill("max@example.org")
    page.get_by_label("Job title").fill("CFO")
    page.get_by_label("Job title").press("Enter")
    page.wait_for_url(f"{live_server.url}/leads/{lead.pk}/")
    expect(page.locator("#section-facts")).to_contain_text("max@example.org")
    lead.refresh_from_db()
    assert lead.title == "CFO" and lead.email == "max@example.org"
    assert errors == []


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_a_visitor_posting_a_bad_web_form_reads_a_page(request, live_server, owner, device):
    from rapport.sales.lead_models import LeadForm

    LeadForm.objects.create(workspace=owner.workspace, key="webk3y", name="Contact")
    page = request.getfixturevalue("page" if device == "desktop" else "phone_page")
    page.set_content(
        f'<form method="post" action="{live_server.url}/f/webk3y/">'
        '<input name="email" value="no-at-sign"><input name="first_name" value="Vi">'
        '<button type="submit">Send</button></form>'
    )
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name="Your message was not sent")).to_be_visible()
    expect(page.get_by_text("Not a valid email")).to_be_visible()
    assert_no_horizontal_scroll(page)
    screenshot(page, f"sales-lead-web-form-error-{device}")

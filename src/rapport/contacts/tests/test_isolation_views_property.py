"""The workspace wall through the UI views, as a property.

Workspace A holds people and companies with distinctive names. A signed-in member of B, in
any role, runs a random sequence of page views and form posts aimed at A's records and at
B's own lists, searches and autocomplete. A's ids always answer 404 (never 403), none of A's
names ever appears in a page B sees, and A's records stay exactly as they were.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rapport.audit.models import AuditEntry
from rapport.contacts.models import Company, Person
from rapport.core.actors import Role
from rapport.testing.clients import make_browser
from rapport.testing.factories import CompanyFactory, MembershipFactory, PersonFactory, actor_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

SECRET_NAMES = ["Zebulon", "Quillfeather", "Octavia", "Marrowdale"]

# (method, path template, form data): {p} is one of A's people, {c} one of A's companies.
AIMED_AT_A = [
    ("get", "/people/{p}/", None),
    ("get", "/people/{p}/edit/", None),
    ("get", "/people/{p}/history/", None),
    ("post", "/people/{p}/edit/", {"first_name": "Hijacked", "version": "1"}),
    ("post", "/people/{p}/delete/", {"version": "1"}),
    ("get", "/companies/{c}/", None),
    ("get", "/companies/{c}/edit/", None),
    ("get", "/companies/{c}/history/", None),
    ("post", "/companies/{c}/edit/", {"name": "Hijacked", "version": "1"}),
    ("post", "/companies/{c}/delete/", {"version": "1"}),
]
B_OWN_PAGES = [
    ("get", "/people/?q={name}", None),
    ("get", "/companies/?q={name}", None),
    ("get", "/people/?company={c}", None),
    ("get", "/search/?q={name}", None),
    ("get", "/search/palette/?q={name}", None),
    ("get", "/companies/autocomplete/?q={name}", None),
    ("get", "/", None),
    ("post", "/people/new/", {"first_name": "New", "company": "{c}"}),
]

actions = st.lists(
    st.tuples(
        st.sampled_from(AIMED_AT_A + B_OWN_PAGES),
        st.sampled_from(SECRET_NAMES),
        st.integers(min_value=0, max_value=1),
    ),
    min_size=1,
    max_size=8,
)


def _rows_of(workspace):
    """Every column of every person and company of a workspace."""
    return (
        list(Person.objects.filter(workspace=workspace).order_by("id").values()),
        list(Company.objects.filter(workspace=workspace).order_by("id").values()),
    )


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(role=st.sampled_from(list(Role)), steps=actions)
def test_b_never_sees_or_changes_as_records_through_the_ui(role, steps):
    with transaction.atomic():
        a = MembershipFactory(role=Role.OWNER.value)
        companies = [
            CompanyFactory(actor=actor_for(a), name=f"{n} Holdings", domain=f"{n.lower()}.example")
            for n in SECRET_NAMES[:2]
        ]
        people = [
            PersonFactory(
                actor=actor_for(a),
                first_name=n,
                last_name="Secret",
                email=f"{n.lower()}@a.example",
                company=str(companies[i % 2].pk),
            )
            for i, n in enumerate(SECRET_NAMES)
        ]
        owner_b = MembershipFactory(role=Role.OWNER.value)
        PersonFactory(actor=actor_for(owner_b), first_name="Bea", last_name="Visible")
        browser, _ = make_browser(role, workspace=owner_b.workspace)
        before = _rows_of(a.workspace)
        a_audit = AuditEntry.objects.filter(workspace=a.workspace).count()

        for (method, template, data), name, pick in steps:
            values = {"p": people[pick].pk, "c": companies[pick].pk, "name": name}
            path = template.format(**values)
            form = {k: v.format(**values) for k, v in (data or {}).items()}
            r = getattr(browser, method)(path, form) if method == "post" else browser.get(path)
            if (method, template, data) in AIMED_AT_A:
                assert r.status_code == 404, (path, r.status_code)
            else:
                assert r.status_code in (200, 302, 403), (path, r.status_code)
                html = r.content.decode()
                # B typed the name itself, so look for what only A's records carry.
                for leak in ("Secret", "Holdings", "@a.example", str(values["p"])):
                    assert leak not in html, (path, leak)

        assert _rows_of(a.workspace) == before
        assert AuditEntry.objects.filter(workspace=a.workspace).count() == a_audit
        transaction.set_rollback(True)

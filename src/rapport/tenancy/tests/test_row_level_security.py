"""PostgreSQL row-level security: the database itself keeps workspaces apart.

The suite connects as a superuser (which bypasses policies), so these tests switch to a plain
role with ``SET ROLE``, as production's non-owner application role would be.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import DatabaseError, connection, transaction

from rapport.contacts.models import Person
from rapport.tenancy.rls import bind_workspace
from rapport.testing.factories import MembershipFactory, PersonFactory, actor_for

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL only"),
]

TABLES = [
    "contacts_person",
    "contacts_company",
    "core_tag",
    "search_searchentry",
    "audit_auditentry",
    "core_idempotencyrecord",
]


@pytest.fixture
def app_role():
    """A role like production's: not superuser, not owner, granted plain DML."""
    role = f"rapport_rls_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cur:
        cur.execute(f"CREATE ROLE {role} NOLOGIN")
        cur.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(TABLES)} TO {role}")
    yield role
    with connection.cursor() as cur:
        cur.execute("RESET ROLE")
        bind_workspace(None)


def _count(table: str, role: str) -> int:
    with connection.cursor() as cur:
        cur.execute(f"SET ROLE {role}")
        try:
            cur.execute(f"SELECT count(*) FROM {table}")
            return cur.fetchone()[0]
        finally:
            cur.execute("RESET ROLE")


def test_a_bound_session_sees_only_its_workspace(app_role):
    a, b = MembershipFactory(), MembershipFactory()
    for n in range(3):
        PersonFactory(actor=actor_for(a), email=f"a{n}@a.example.com")
    PersonFactory(actor=actor_for(b), email="b@b.example.com")

    bind_workspace(a.workspace_id)
    assert _count("contacts_person", app_role) == 3
    assert _count("search_searchentry", app_role) == 3
    bind_workspace(b.workspace_id)
    assert _count("contacts_person", app_role) == 1
    assert _count("audit_auditentry", app_role) == 1
    # Unbound (migrations, CLI, workers): the operator's context sees every row.
    bind_workspace(None)
    assert _count("contacts_person", app_role) == 4


def test_a_bound_session_cannot_write_into_another_workspace(app_role):
    a, b = MembershipFactory(), MembershipFactory()
    person = PersonFactory(actor=actor_for(a), email="a@a.example.com")
    own = PersonFactory(actor=actor_for(b), email="b@b.example.com")
    bind_workspace(b.workspace_id)
    with connection.cursor() as cur:
        cur.execute(f"SET ROLE {app_role}")
        try:
            # Updating A's row from B's session touches nothing: the row is invisible.
            cur.execute("UPDATE contacts_person SET title = 'hijacked' WHERE id = %s", [person.pk])
            assert cur.rowcount == 0
            # Moving a row into A's workspace is refused by the policy's WITH CHECK.
            with pytest.raises(DatabaseError), transaction.atomic():
                cur.execute(
                    "UPDATE contacts_person SET workspace_id = %s WHERE id = %s",
                    [a.workspace_id, own.pk],
                )
        finally:
            cur.execute("RESET ROLE")
    bind_workspace(None)
    assert Person.objects.get(pk=person.pk).title == ""


def test_requests_bind_their_workspace_and_unbind_after(api):
    seen = []

    def spy(execute, sql, params, many, context):
        if "set_config" in sql:
            seen.append(params[1])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        assert api.get("/contacts").status_code == 200
    assert seen == [str(api.workspace.pk), ""]


def test_an_audit_entry_for_another_workspace_is_filed_there(app_role):
    """Accepting an invitation acts in the new workspace while the request is bound to the
    old one: the audit entry must still be written, and the binding restored."""
    from rapport.audit import events
    from rapport.audit.models import AuditEntry
    from rapport.audit.services import record

    a, b = MembershipFactory(), MembershipFactory()
    bind_workspace(a.workspace_id)
    with connection.cursor() as cur:
        cur.execute(f"SET ROLE {app_role}")
        try:
            record(actor=actor_for(b), action=events.WORKSPACE_UPDATED, obj=b.workspace)
            cur.execute("SELECT current_setting('rapport.workspace_id')")
            assert cur.fetchone()[0] == str(a.workspace_id)
        finally:
            cur.execute("RESET ROLE")
    bind_workspace(None)
    assert AuditEntry.objects.filter(workspace=b.workspace, action="workspace.updated").exists()

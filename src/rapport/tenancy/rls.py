"""PostgreSQL row-level security: the second wall behind ``visible_to(actor)``.

Every workspace table carries a policy that shows a row only when its ``workspace_id`` is the
workspace bound to the database session (``rapport.workspace_id``). Requests bind their
workspace as soon as the actor is known (API token or browser session) and unbind at the end.
With nothing bound (migrations, CLI, workers) the policy lets rows through: those contexts are
the operator's, and they scope in the application.

Policies bind only roles that neither own the tables nor are superusers: production connects
as such a role (docs/deployment.md). SQLite has no row-level security; the application wall is
its only wall.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection

SETTING = "rapport.workspace_id"
# What this thread's connection is bound to, so crossing workspaces needs no round trip to ask.
_bound: ContextVar[str] = ContextVar("rapport_rls_bound", default="")

FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION rapport_workspace_visible(ws uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN nullif(current_setting('{SETTING}', true), '') IS NULL THEN true
        ELSE ws IS NOT NULL AND ws::text = current_setting('{SETTING}', true)
    END
$$
"""


def enable_sql(table: str) -> list[str]:
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS rapport_workspace_wall ON {table}",
        f"CREATE POLICY rapport_workspace_wall ON {table} "
        "USING (rapport_workspace_visible(workspace_id)) "
        "WITH CHECK (rapport_workspace_visible(workspace_id))",
    ]


def disable_sql(table: str) -> list[str]:
    return [
        f"DROP POLICY IF EXISTS rapport_workspace_wall ON {table}",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]


def bind_workspace(workspace_id: uuid.UUID | None) -> bool:
    """Binds the session to a workspace (None unbinds); True when the database has RLS."""
    if connection.vendor != "postgresql":
        return False
    value = str(workspace_id or "")
    with connection.cursor() as cur:
        cur.execute("SELECT set_config(%s, %s, false)", [SETTING, value])
    _bound.set(value)
    return True


@contextmanager
def bound_to(workspace_id: uuid.UUID | None) -> Iterator[None]:
    """Acts in ``workspace_id`` for a moment: for the few writes that cross workspaces on a
    user's behalf (accepting an invitation files its audit entry in the new workspace)."""
    current = _bound.get()
    target = str(workspace_id or "")
    if connection.vendor != "postgresql" or not current or current == target:
        yield
        return
    bind_workspace(workspace_id)
    try:
        yield
    finally:
        bind_workspace(uuid.UUID(current))


def migration_operation(tables: list[str]):
    """The RunPython a migration adds to put new workspace tables behind row-level security
    (PostgreSQL only; nothing on SQLite)."""
    from django.db import migrations

    def forward(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in tables:
            for sql in enable_sql(table):
                schema_editor.execute(sql)

    def backward(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in tables:
            for sql in disable_sql(table):
                schema_editor.execute(sql)

    return migrations.RunPython(forward, backward)

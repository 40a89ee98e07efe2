"""The columns of the deals table: the open saved view's, in its order, else the default set.

What a column is (key, label, sort, alignment) comes from the saved-view catalogue
(``customization.catalogue.columns``: the standard deal columns, then every ``sales.deal``
custom field), so the table shows exactly what the view editor's column chooser offers. The
cells of ``EDITABLE`` columns edit in place (``board_views.deal_table_cell``); the others only
show their value, read from the same page of deals (constant queries per page).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from .filters import DEAL_OBJECT_TYPE

EDITABLE = ("name", "stage", "amount", "close_date", "owner")


@dataclass(frozen=True)
class TableColumn:
    key: str
    label: str
    css: str = ""
    editable: bool = False
    sort: str = ""  # the ?sort= value ascending ("" when the column cannot sort)
    sort_url: str = ""  # the header's link: sort by this column (or flip its direction)
    sort_state: str = ""  # aria-sort of a sortable column: ascending, descending or none


def table_columns(
    *, workspace, saved_view, inputs: dict[str, str], sort_token: str
) -> list[TableColumn]:
    """The header of the table; ``inputs`` are the query parameters the sort links keep."""
    from rapport.customization.catalogue import DEFAULT_COLUMNS, columns

    known = columns(workspace, DEAL_OBJECT_TYPE)
    chosen = [k for k in (getattr(saved_view, "columns", None) or ()) if k in known]
    # A view whose every column is gone (custom fields deleted since) shows the default set.
    keys = chosen or [k for k in DEFAULT_COLUMNS[DEAL_OBJECT_TYPE] if k in known]
    query = {k: v for k, v in inputs.items() if k not in ("sort", "cursor")}
    current = sort_token.removeprefix("-")
    shown = []
    for key in keys:
        column = known[key]
        url = state = ""
        if column.sort:
            if current == column.sort:
                descending = sort_token.startswith("-")
                target = column.sort if descending else f"-{column.sort}"
                state = "descending" if descending else "ascending"
            else:
                target = f"-{column.sort}" if column.descending_first else column.sort
                state = "none"
            url = "?" + urlencode({**query, "sort": target})
        shown.append(
            TableColumn(
                key=key,
                label=column.label,
                css=column.css,
                editable=key in EDITABLE,
                sort=column.sort,
                sort_url=url,
                sort_state=state,
            )
        )
    return shown


def sort_choices(
    base: tuple[tuple[str, str], ...], columns: list[TableColumn], current: str
) -> list[tuple[str, str]]:
    """The Sort menu of the filters: ``base`` plus both directions of each shown sortable
    column it lacks (custom fields), so applying the filters keeps a column's sort."""
    choices = list(base)
    taken = {value for value, _ in choices}
    for column in columns:
        if not column.sort or column.sort in taken:
            continue
        descending = f"-{column.sort}"
        choices += [(column.sort, column.label), (descending, f"{column.label} (descending)")]
        taken |= {column.sort, descending}
    if current not in taken:
        choices.append((current, current))
    return choices

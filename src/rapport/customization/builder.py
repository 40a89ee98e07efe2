"""The condition builder of the "Edit view" page: a conditions tree <-> plain form fields.

Every group and condition has a path (``r`` the root group, ``r.1`` its second item,
``r.1.0`` the first item of that group). A group posts ``g-<path>-op``; a condition posts
``c-<path>-field``, ``c-<path>-operator``, ``c-<path>-value`` (``-value2`` for the upper bound
of "between"; several ``-value`` for "any of" from a multiple select). Buttons post
``action=add:<group>``, ``addgroup:<group>``, ``remove:<item>``: without JavaScript the page
comes back with the change, with htmx only the builder is swapped. Nothing is saved until
"Save view".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from .conditions import MAX_DEPTH, NO_VALUE, OPERATOR_LABELS, Field

_PATH = re.compile(r"^r(?:\.\d{1,3}){0,4}$")


@dataclass
class Entry:
    """One line of the builder: a group's start or end, or a condition."""

    kind: str  # "start" | "end" | "condition"
    path: str
    depth: int
    op: str = "and"
    field: str = ""
    operator: str = ""
    value: Any = None
    value2: Any = None
    operators: list[tuple[str, str]] = dc_field(default_factory=list)
    input: str = "text"  # text | number | date | select | multiple | none
    choices: list[tuple[str, str]] = dc_field(default_factory=list)
    error: str = ""
    can_nest: bool = False

    @property
    def values(self) -> list[str]:
        if isinstance(self.value, list):
            return [str(v) for v in self.value]
        return [] if self.value in (None, "") else [str(self.value)]

    @property
    def text_value(self) -> str:
        if isinstance(self.value, list):
            return ", ".join(str(v) for v in self.value)
        return "" if self.value is None else str(self.value)


def _sort_key(path: str) -> tuple[int, ...]:
    return tuple(int(p) for p in path.split(".")[1:])


def tree_from_post(post) -> dict:
    """The tree the builder's fields describe (the compiler judges it on save)."""
    groups: dict[str, dict] = {"r": {"op": "and", "items": []}}
    nodes: dict[str, dict] = {}
    paths: set[str] = set()
    for name in post:
        parts = name.split("-")
        if len(parts) == 3 and parts[0] in ("g", "c") and _PATH.match(parts[1]):
            paths.add(f"{parts[0]}:{parts[1]}")
    for entry in sorted(paths, key=lambda p: _sort_key(p[2:])):
        kind, path = entry.split(":")
        if kind == "g":
            node: dict = {"op": post.get(f"g-{path}-op", "and"), "items": []}
            if path == "r":
                groups["r"]["op"] = node["op"]
                continue
            groups[path] = node
        else:
            operator = post.get(f"c-{path}-operator", "")
            node = {"field": post.get(f"c-{path}-field", ""), "operator": operator}
            values = [v for v in post.getlist(f"c-{path}-value") if v.strip()]
            if operator == "between":
                node["value"] = [post.get(f"c-{path}-value", ""), post.get(f"c-{path}-value2", "")]
            elif operator == "any_of":
                joined = [p.strip() for v in values for p in v.split(",") if p.strip()]
                node["value"] = joined
            elif operator not in NO_VALUE:
                node["value"] = values[0] if values else ""
        nodes[path] = node
    for path in sorted(nodes, key=_sort_key):
        parent = path.rsplit(".", 1)[0]
        target = groups.get(parent)
        if target is not None:
            target["items"].append(nodes[path])
    return groups["r"]


def _address(tree: dict, path: str) -> tuple[dict, int] | None:
    """The group holding the item at ``path`` and its index (None when there is none)."""
    steps = [int(p) for p in path.split(".")[1:]]
    node = tree
    for step in steps[:-1]:
        items = node.get("items", [])
        if not 0 <= step < len(items) or "items" not in items[step]:
            return None
        node = items[step]
    return (node, steps[-1]) if steps else None


def _group_at(tree: dict, path: str) -> dict | None:
    node = tree
    for step in (int(p) for p in path.split(".")[1:]):
        items = node.get("items", [])
        if not 0 <= step < len(items) or "items" not in items[step]:
            return None
        node = items[step]
    return node


def apply_action(tree: dict, action: str, first_field: str) -> dict:
    """``add:<group>``, ``addgroup:<group>`` or ``remove:<item>`` applied to ``tree``."""
    verb, _, path = action.partition(":")
    if not _PATH.match(path or "-"):
        return tree
    if verb in ("add", "addgroup"):
        group = _group_at(tree, path)
        if group is None:
            return tree
        condition = {"field": first_field, "operator": "is", "value": ""}
        if verb == "add":
            group["items"].append(condition)
        elif path.count(".") + 1 < MAX_DEPTH:
            group["items"].append({"op": "or", "items": [condition]})
    elif verb == "remove":
        found = _address(tree, path)
        if found is not None and 0 <= found[1] < len(found[0]["items"]):
            del found[0]["items"][found[1]]
    return tree


INPUTS = {"number": "number", "date": "date"}


def entries(
    tree: dict,
    catalogue: dict[str, Field],
    errors: dict[str, str],
    members: list[tuple[str, str]],
) -> list[Entry]:
    """The builder's lines for ``tree`` (errors keyed by path: ``r.1`` or ``r.1.value``)."""
    out: list[Entry] = []

    def walk(group: dict, path: str, depth: int) -> None:
        out.append(
            Entry(
                "start",
                path,
                depth,
                op=group.get("op", "and"),
                can_nest=depth < MAX_DEPTH,
                error=errors.get(path, "") or errors.get(f"{path}.op", ""),
            )
        )
        for index, item in enumerate(group.get("items", [])):
            where = f"{path}.{index}"
            if isinstance(item, dict) and "items" in item:
                walk(item, where, depth + 1)
                continue
            item = item if isinstance(item, dict) else {}
            spec = catalogue.get(str(item.get("field", "")))
            operator = str(item.get("operator", ""))
            entry = Entry(
                "condition",
                where,
                depth,
                field=str(item.get("field", "")),
                operator=operator,
                value=item.get("value"),
                error="; ".join(
                    m for k, m in errors.items() if k == where or k.startswith(where + ".")
                ),
            )
            if spec is not None:
                entry.operators = [(op, OPERATOR_LABELS[op]) for op in spec.allowed()]
                if operator not in spec.allowed():
                    entry.operator = operator = spec.allowed()[0]
                choices = list(spec.choices)
                if spec.kind == "user":
                    choices = members
                elif spec.kind == "boolean":
                    choices = [("true", "Yes"), ("false", "No")]
                if operator in NO_VALUE:
                    entry.input = "none"
                elif operator == "in_last_days":
                    entry.input = "number"
                elif choices and operator == "any_of":
                    entry.input, entry.choices = "multiple", choices
                elif choices:
                    entry.input, entry.choices = "select", choices
                else:
                    entry.input = INPUTS.get(spec.kind, "text")
                if operator == "between" and isinstance(entry.value, list):
                    entry.value, entry.value2 = [*entry.value, None, None][:2]
                if isinstance(entry.value, bool):
                    entry.value = "true" if entry.value else "false"
            out.append(entry)
        out.append(Entry("end", path, depth, can_nest=depth < MAX_DEPTH))

    walk(tree if isinstance(tree, dict) else {"op": "and", "items": []}, "r", 1)
    return out


def error_paths(errors) -> dict[str, str]:
    """``conditions.items.1.items.0.value`` -> ``r.1.0.value`` (the builder's names)."""
    found: dict[str, str] = {}
    for err in errors:
        name = err.field
        if not name.startswith("conditions"):
            continue
        path = "r" + re.sub(r"\.items\.(\d+)", r".\1", name[len("conditions") :])
        found[path] = err.message
    return found

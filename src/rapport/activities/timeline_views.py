"""The timeline of a record page, the quick-add box and the page of one interaction.

The timeline is built once here for both places it appears: the record page's section
(first page, server-rendered) and the htmx partial that filter chips and infinite scroll
fetch (``?type=``, ``?cursor=``). Every page costs the same number of queries however long
the history: the selector reads one index range per source, and the names shown (linked
records, owners, companies) are looked up once per page.

An email's received HTML is never put into the page: it is served by ``email_body`` as its
own small document with a CSP that allows no script and no remote image (until the reader
asks), shown in a sandboxed frame.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from rapport.audit.models import AuditEntry
from rapport.core import targets
from rapport.core.actors import Actor
from rapport.core.errors import (
    DomainError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    VersionConflict,
)
from rapport.core.policy import can_delete, can_write, require_write
from rapport.ui.views import form_page, htmx_target, workspace_required

from . import content, selectors, services
from .forms import FIELDS_BY_TYPE, TYPE_TABS, ActivityForm
from .models import Activity, ActivityType, Task

PAGE_SIZE = 30
TIMELINE_ID = "timeline"
# The filter chips: every kind of interaction, then tasks and record changes.
FILTERS = [
    ("note", "Notes"),
    ("call", "Calls"),
    ("email", "Emails"),
    ("meeting", "Meetings"),
    ("sms", "SMS"),
    ("chat", "Chats"),
    ("social", "Social"),
    ("visit", "Visits"),
    ("task", "Tasks"),
    ("change", "Changes"),
]
FILTER_VALUES = {value for value, _ in FILTERS}
# The changes a timeline shows, by the change log's field names.
CHANGE_LABELS = {
    "lifecycle_stage": "Lifecycle stage",
    "stage": "Stage",
    "status": "Status",
    "owner_id": "Owner",
    "company_id": "Company",
}
# Changes whose logged values are shown as they are (a deal's stage is logged by name).
PLAIN_CHANGES = {"stage"}


# --- the timeline, ready to show ---------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class ChangeLine:
    label: str
    before: str
    after: str


@dataclass
class Entry:
    """One line of a timeline: an interaction, a task or a record change."""

    kind: str  # "note", "call", ..., "task", "change"
    at: dt.datetime
    obj: Any
    links: list[Link] = field(default_factory=list)  # the other records it concerns
    via: list[Link] = field(default_factory=list)  # on a company's page: the people it came by
    changes: list[ChangeLine] = field(default_factory=list)
    title: str = ""
    remote_images: bool = False

    @property
    def is_activity(self) -> bool:
        return isinstance(self.obj, Activity)

    @property
    def is_email_html(self) -> bool:
        return self.is_activity and self.obj.type == "email" and bool(self.obj.body_html)

    @property
    def label(self) -> str:
        if self.kind == "task":
            return "Task"
        if self.kind == "change":
            return "Change"
        return ActivityType(self.kind).label


@dataclass
class TimelineView:
    target_type: str
    record: Any
    kind: str  # the chosen filter ("" for everything)
    pinned: list[Entry]
    entries: list[Entry]
    next_cursor: str | None
    error: str = ""

    @property
    def url(self) -> str:
        return reverse("activities:timeline", args=[self.target_type, self.record.pk])

    @property
    def record_url(self) -> str:
        return targets.get_type(self.target_type).url(self.record.pk)

    def page_url(self, base: str, **params) -> str:
        query = {k: v for k, v in {"type": self.kind, **params}.items() if v}
        return base + ("?" + urlencode(query) if query else "")

    @property
    def next_url(self) -> str:
        return self.page_url(self.url, cursor=self.next_cursor or "")

    @property
    def next_page_url(self) -> str:
        """Without JavaScript, the record page itself shows the older entries."""
        return self.page_url(self.record_url, cursor=self.next_cursor or "") + "#timeline"

    @property
    def chips(self) -> list[dict[str, Any]]:
        return [
            {
                "value": value,
                "label": label,
                "current": value == self.kind,
                "url": self.page_url(self.url, type=value),
                "page_url": self.page_url(self.record_url, type=value) + "#timeline",
            }
            for value, label in [("", "All"), *FILTERS]
        ]


def _kind_of(value: str | None) -> str:
    return value if value in FILTER_VALUES else ""


def build_timeline(
    actor: Actor, target_type: str, record, *, kind: str = "", cursor: str | None = None
) -> TimelineView:
    """One page of ``record``'s timeline with everything the template shows."""
    try:
        tl = selectors.timeline(
            actor=actor,
            target_type=target_type,
            target_id=record.pk,
            kinds=[kind] if kind else (),
            cursor=cursor,
            limit=PAGE_SIZE,
        )
    except ValidationFailed:  # a stale or hand-made cursor: start again from the newest
        view = build_timeline(actor, target_type, record, kind=kind)
        view.error = "That link to older entries no longer works; showing the newest."
        return view
    here = (target_type, str(record.pk))
    names = _change_names(actor, [i.obj for i in tl.items if i.kind == "change"])
    members = _company_members(record, target_type, tl)

    def entry(kind: str, at, obj) -> Entry:
        if isinstance(obj, Activity):
            return _activity_entry(obj, tl.labels, here, members)
        if isinstance(obj, Task):
            return Entry("task", at, obj)
        return _change_entry(obj, names, here)

    pinned = [_activity_entry(a, tl.labels, here, members) for a in tl.pinned]
    pinned_ids = {p.obj.pk for p in pinned}
    entries = [
        entry(i.kind, i.at, i.obj)
        for i in tl.items
        # a pinned note shows once, on top
        if not (i.obj.pk in pinned_ids and isinstance(i.obj, Activity))
    ]
    return TimelineView(target_type, record, kind, pinned, entries, tl.next_cursor)


def _company_members(record, target_type: str, tl) -> set[str]:
    """On a company's timeline: which of the people the page's interactions name belong to
    it (one query), to say which of them an interaction came by."""
    if target_type != "company":
        return set()
    from rapport.contacts.models import Person

    here = str(record.pk)
    loaded: list[Any] = [i.obj for i in tl.items if isinstance(i.obj, Activity)] + tl.pinned
    people = {
        t.target_id
        for a in loaded
        if not any(
            t.target_type == "company" and str(t.target_id) == here for t in a.direct_targets
        )
        for t in a.direct_targets
        if t.target_type == "person"
    }
    if not people:
        return set()
    return {
        str(pk)
        for pk in Person.objects.filter(pk__in=people, company_id=record.pk).values_list(
            "pk", flat=True
        )
    }


def _activity_entry(
    obj: Any, labels: dict, here: tuple[str, str], members: frozenset[str] | set[str] = frozenset()
) -> Entry:
    """``obj`` is an Activity loaded with its ``direct_targets`` (see selectors)."""
    links: list[Link] = []
    via: list[Link] = []
    direct = [(t.target_type, str(t.target_id)) for t in obj.direct_targets]
    # On a company's timeline, an interaction not linked to the company itself came by one of
    # its people (a rollup): say which (those who work there now, else every person named).
    rolled_up = here[0] == "company" and here not in direct
    by = {k for k in direct if k[0] == "person" and k in labels}
    if rolled_up and {k for k in by if k[1] in members}:
        by = {k for k in by if k[1] in members}
    for key in direct:
        name = labels.get(key)
        if name is None or key == here:
            continue
        link = Link(name, targets.get_type(key[0]).url(key[1]))
        (via if rolled_up and key in by else links).append(link)
    return Entry(
        obj.type,
        obj.occurred_at,
        obj,
        links=links,
        via=via,
        remote_images=obj.type == "email" and content.has_remote_images(obj.body_html),
    )


def _change_names(actor: Actor, entries: list) -> dict[str, dict[str, str]]:
    """Names for the owners and companies the page's changes mention: one query each."""
    from rapport.contacts.models import LifecycleStage
    from rapport.contacts.selectors import company_choices
    from rapport.sales.lead_models import LeadStatus
    from rapport.tenancy.selectors import member_choices

    wanted: dict[str, set[str]] = {"owner_id": set(), "company_id": set()}
    for e in entries:
        if e.action.endswith(".created"):
            continue  # (shown as "created", without its values)
        for key in wanted:
            change = e.changes.get(key) or {}
            wanted[key].update(str(v) for v in (change.get("before"), change.get("after")) if v)
    names: dict[str, dict[str, str]] = {
        "lifecycle_stage": dict(LifecycleStage.choices),
        # a deal's status, and a lead's (the values do not overlap)
        "status": {"open": "Open", "won": "Won", "lost": "Lost", **dict(LeadStatus.choices)},
    }
    names["owner_id"] = (
        dict(member_choices(workspace=actor.workspace)) if wanted["owner_id"] else {}
    )
    names["company_id"] = (
        company_choices(actor=actor, ids=wanted["company_id"]) if wanted["company_id"] else {}
    )
    return names


def _other_record(entry: AuditEntry, here: tuple[str, str] | None) -> list[Link]:
    """A change of another record shown on this timeline (a company's deal moving along its
    pipeline) links to that record."""
    for target in targets.types():
        if target.model_label.lower() == entry.object_type:
            if here is not None and (target.name, entry.object_id) == here:
                return []
            return [Link(entry.object_repr or target.label, target.url(entry.object_id))]
    return []


def _change_entry(
    entry: AuditEntry, names: dict[str, dict[str, str]], here: tuple[str, str] | None = None
) -> Entry:
    from rapport.audit import events as audit_events

    try:
        title = audit_events.get(entry.action).label
    except KeyError:
        title = entry.action
    lines = []
    if not entry.action.endswith(".created"):
        for key, label in CHANGE_LABELS.items():
            if key not in entry.changes:
                continue
            change = entry.changes[key] or {}

            def show(value, key=key) -> str:
                if value in (None, ""):
                    return "—" if key != "owner_id" else "No owner"
                if key in PLAIN_CHANGES:
                    return str(value)
                return names.get(key, {}).get(str(value), "(no longer available)")

            lines.append(ChangeLine(label, show(change.get("before")), show(change.get("after"))))
    links = _other_record(entry, here)
    return Entry("change", entry.created_at, entry, links=links, changes=lines, title=title)


# --- the sections of a record page -----------------------------------------------------------


def timeline_context(request: HttpRequest, actor: Actor, obj) -> dict:
    target_type = targets.type_of(obj).name
    view = build_timeline(
        actor,
        target_type,
        obj,
        kind=_kind_of(request.GET.get("type")),
        cursor=request.GET.get("cursor") or None,
    )
    return {"timeline": view, "can_write": can_write(actor)}


def quick_add_context(request: HttpRequest, actor: Actor, obj) -> dict | None:
    if not can_write(actor):
        return None  # a read-only member logs nothing
    ref = targets.ref_of(obj)
    return _quick_add(request, ActivityForm(actor=actor), ref.type, ref.id)


def _quick_add(request: HttpRequest, form: ActivityForm, target_type: str, target_id) -> dict:
    return {
        "form": form,
        "target_type": target_type,
        "target_id": target_id,
        "type_tabs": [(t, ActivityType(t).label) for t in TYPE_TABS],
        "fields_by_type": FIELDS_BY_TYPE,
        "next": targets.get_type(target_type).url(target_id),
    }


def summary_context(request: HttpRequest, actor: Actor, obj) -> dict:
    target_type = targets.type_of(obj).name
    return {"summary": selectors.summary(actor=actor, target_type=target_type, record=obj)}


# --- views -------------------------------------------------------------------------------------


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


@workspace_required
@require_GET
def timeline(request: HttpRequest, target_type: str, target_id: uuid.UUID) -> HttpResponse:
    """The timeline block (a filter chip) or, with ``?cursor=``, its next entries (scroll)."""
    actor = _actor(request)
    record = targets.get(actor, target_type, target_id)
    cursor = request.GET.get("cursor") or None
    view = build_timeline(
        actor, target_type, record, kind=_kind_of(request.GET.get("type")), cursor=cursor
    )
    context = {"timeline": view, "can_write": can_write(actor)}
    template = "activities/partials/timeline_more.html" if cursor else "activities/timeline.html"
    return render(request, template, context)


def _next_url(request: HttpRequest, fallback: str) -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return nxt
    return fallback


@workspace_required
@require_POST
def activity_create(request: HttpRequest) -> HttpResponse:
    """The quick-add box: logs an interaction on the record page it was typed on."""
    actor = _actor(request)
    target_type = request.POST.get("target_type", "")
    record = targets.get(actor, target_type, request.POST.get("target_id", ""))
    form = ActivityForm(request.POST, actor=actor)
    is_htmx = bool(htmx_target(request))
    obj = None
    if form.is_valid():
        data = form.to_data()
        data["targets"] = [{"type": target_type, "id": str(record.pk)}]
        try:
            obj = services.activity_create(actor=actor, data=data, source="ui")
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            form.add_domain_error(exc)
    record_url = targets.get_type(target_type).url(record.pk)
    if obj is None:
        context = _quick_add(request, form, target_type, record.pk)
        if is_htmx:
            return render(request, "activities/partials/quick_add.html", context, status=422)
        context.update(record=record, record_url=record_url)
        return render(request, "activities/activity_new.html", context, status=422)
    if not is_htmx:
        messages.success(request, f"Logged the {obj.get_type_display().lower()}.")
        return redirect(_next_url(request, record_url))
    # htmx: a fresh box (the same tab), and the timeline and figures redrawn with the new entry.
    fresh = ActivityForm(actor=actor, initial={"type": obj.type})
    context = {
        **_quick_add(request, fresh, target_type, record.pk),
        "saved": obj,
        "timeline": build_timeline(actor, target_type, record),
        "summary": selectors.summary(actor=actor, target_type=target_type, record=record),
        "can_write": True,
        "oob": True,
    }
    return render(request, "activities/partials/quick_add_saved.html", context)


def _detail_links(actor: Actor, obj: Any) -> list[Link]:
    labels = targets.labels(actor, [(t.target_type, t.target_id) for t in obj.direct_targets])
    links = []
    for t in obj.direct_targets:
        key = (t.target_type, str(t.target_id))
        if key in labels:
            links.append(Link(labels[key], targets.get_type(t.target_type).url(t.target_id)))
    return links


def _files(request: HttpRequest, actor: Actor, obj: Activity) -> str:
    """The files attached to the interaction, with the upload box (the attachments app)."""
    from django.apps import apps
    from django.template.loader import render_to_string

    if not apps.is_installed("rapport.attachments"):
        return ""
    from rapport.attachments.views import section_context

    return render_to_string(
        "attachments/section.html", section_context(request, actor, obj), request
    )


@workspace_required
@require_GET
def activity_detail(request: HttpRequest, activity_id: uuid.UUID) -> HttpResponse:
    """One interaction in full: what notifications and the timeline link to."""
    actor = _actor(request)
    obj = selectors.activity_get(actor=actor, activity_id=activity_id)
    links = _detail_links(actor, obj)
    data = obj.data or {}
    follow_ups = list(
        Task.objects.visible_to(actor).filter(activity=obj).select_related("assignee")[:20]
    )
    context = {
        "activity": obj,
        "entry": Entry(
            obj.type,
            obj.occurred_at,
            obj,
            links=links,
            remote_images=obj.type == "email" and content.has_remote_images(obj.body_html),
        ),
        "links": links,
        "data": data,
        "follow_ups": follow_ups,
        "files": _files(request, actor, obj),
        "can_write": can_write(actor),
        "can_delete": can_write(actor) and can_delete(actor, _owned(obj)),
        "back_url": links[0].url if links else reverse("ui:home"),
    }
    return render(request, "activities/activity_detail.html", context)


def _owned(obj: Activity):
    return services._Owned(obj.author_id, obj.created_by_id)


@workspace_required
def activity_edit(request: HttpRequest, activity_id: uuid.UUID) -> HttpResponse:
    actor = _actor(request)
    obj = selectors.activity_get(actor=actor, activity_id=activity_id)
    require_write(actor)
    form = ActivityForm(request.POST or None, actor=actor, instance=obj)
    return form_page(
        request,
        form=form,
        save=lambda data: services.activity_update(
            actor=actor,
            activity_id=obj.pk,
            data=data,
            expected_version=form.expected_version,
            source="ui",
        ),
        template="activities/activity_form.html",
        success=lambda updated: reverse("activities:activity_detail", args=[updated.pk]),
        message=lambda updated: f"Saved the {updated.get_type_display().lower()}.",
        activity=obj,
        fields_by_type=FIELDS_BY_TYPE,
        kind_fields=FIELDS_BY_TYPE[obj.type],
        cancel_url=reverse("activities:activity_detail", args=[obj.pk]),
    )


@workspace_required
@require_POST
def activity_pin(request: HttpRequest, activity_id: uuid.UUID) -> HttpResponse:
    """Pins an interaction to the top of its records' timelines (``pinned=0`` unpins)."""
    actor = _actor(request)
    obj = selectors.activity_get(actor=actor, activity_id=activity_id)
    pinned = request.POST.get("pinned", "1") not in ("0", "false", "")
    back = _next_url(request, reverse("activities:activity_detail", args=[obj.pk]))
    try:
        services.activity_update(
            actor=actor, activity_id=obj.pk, data={"pinned": pinned}, source="ui"
        )
    except ValidationFailed as exc:
        messages.error(request, exc.detail)
        return redirect(back)
    messages.success(request, "Pinned to the top of the timeline." if pinned else "Unpinned.")
    return redirect(back)


@workspace_required
@require_POST
def activity_delete(request: HttpRequest, activity_id: uuid.UUID) -> HttpResponse:
    actor = _actor(request)
    obj = selectors.activity_get(actor=actor, activity_id=activity_id)
    links = _detail_links(actor, obj)
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = None
    try:
        services.activity_delete(
            actor=actor, activity_id=obj.pk, expected_version=version, source="ui"
        )
    except VersionConflict:
        messages.error(request, "The interaction was changed since you opened it: check, retry.")
        return redirect("activities:activity_detail", obj.pk)
    messages.success(
        request,
        format_html(
            'Deleted the {}. <a href="{}">Restore it from the trash</a>',
            obj.get_type_display().lower(),
            reverse("activities:trash") + "?kind=interactions",
        ),
    )
    fallback = links[0].url if links else reverse("ui:home")
    nxt = _next_url(request, fallback)
    if nxt.startswith(reverse("activities:activity_detail", args=[obj.pk])):
        nxt = fallback  # (its own page is gone)
    return redirect(nxt)


# The frame's document may show inline styles and pictures embedded in the mail, nothing
# else: no script, no form, no plugin, no remote fetch; remote images only when asked for.
EMAIL_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:{images}; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; "
    "sandbox allow-popups allow-popups-to-escape-sandbox"
)


@xframe_options_sameorigin
@workspace_required
@require_GET
def email_body(request: HttpRequest, activity_id: uuid.UUID) -> HttpResponse:
    """An email's sanitised HTML as its own document, for the sandboxed frame."""
    actor = _actor(request)
    obj = selectors.activity_get(actor=actor, activity_id=activity_id)
    if obj.type != "email" or not obj.body_html:
        raise Http404("No HTML body.")
    images = request.GET.get("images") == "1"
    response = render(request, "activities/email_body.html", {"body_html": obj.body_html})
    response["Content-Security-Policy"] = EMAIL_CSP.format(images=" https: http:" if images else "")
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    return response


urlpatterns = [
    path(
        "activities/timeline/<str:target_type>/<uuid:target_id>/",
        timeline,
        name="timeline",
    ),
    path("activities/new/", activity_create, name="activity_create"),
    path("activities/<uuid:activity_id>/", activity_detail, name="activity_detail"),
    path("activities/<uuid:activity_id>/edit/", activity_edit, name="activity_edit"),
    path("activities/<uuid:activity_id>/pin/", activity_pin, name="activity_pin"),
    path("activities/<uuid:activity_id>/delete/", activity_delete, name="activity_delete"),
    path("activities/<uuid:activity_id>/email-body/", email_body, name="email_body"),
]

"""notify, reading, preferences and the at-most-once email deliveries."""

from __future__ import annotations

import datetime as dt
import smtplib
import uuid
from unittest import mock

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.audit.models import AuditEntry
from rapport.contacts import services as contact_services
from rapport.core.actors import Actor, Role
from rapport.core.errors import ValidationFailed
from rapport.notifications import selectors, services, tasks
from rapport.notifications.models import EmailMode, Notification, NotificationPreference
from rapport.testing.factories import MembershipFactory, PersonFactory, actor_for

from .helpers import Team, send

pytestmark = pytest.mark.django_db


def smtp_down():
    return mock.patch(
        "django.core.mail.EmailMultiAlternatives.send", side_effect=smtplib.SMTPException("down")
    )


# --- notify -----------------------------------------------------------------------------------


def test_notify_creates_one_notification_per_recipient(team: Team):
    created = send(
        team.actor,
        [team.colleague.user_id],
        title="Ada   mentioned\nyou",
        body="  Can you call them?  ",
        url="/people/1/",
    )
    assert len(created) == 1
    n = Notification.objects.get()
    assert n.recipient_id == team.colleague.user_id
    assert n.workspace_id == team.actor.workspace.pk
    assert n.title == "Ada mentioned you"  # one line: mail subjects refuse line breaks
    assert n.body == "Can you call them?"
    assert n.actor_label == team.actor.user.email
    assert n.read_at is None and n.emailed_at is None


def test_the_same_key_twice_notifies_and_emails_once(
    team: Team, django_capture_on_commit_callbacks
):
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            send(team.actor, [team.colleague.user_id], key="task:1:assigned")
    assert Notification.objects.count() == 1
    assert len(mail.outbox) == 1
    again = send(team.actor, [team.colleague.user_id], key="task:1:assigned")
    assert again == []  # nothing new was created


def test_a_key_is_per_recipient(team: Team):
    third = MembershipFactory(workspace=team.actor.workspace)
    send(team.actor, [team.colleague.user_id], key="k")
    created = send(team.actor, [team.colleague.user_id, third.user_id], key="k")
    assert [n.recipient_id for n in created] == [third.user_id]
    assert Notification.objects.count() == 2


def test_nobody_is_notified_of_their_own_mention(team: Team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        created = send(team.actor, [team.actor.user_id, str(team.colleague.user_id)])
    assert [n.recipient_id for n in created] == [team.colleague.user_id]
    assert [m.to for m in mail.outbox] == [[team.colleague.user.email]]


def test_non_members_are_not_notified(team: Team):
    stranger = MembershipFactory()  # a member of another workspace only
    created = send(team.actor, [stranger.user_id, uuid.uuid4()])
    assert created == []
    assert not Notification.objects.exists()


def test_the_system_actor_notifies_everyone_named(team: Team):
    system = Actor.system(team.actor.workspace, "reminders")
    created = send(system, [team.actor.user_id, team.colleague.user_id], kind="reminder")
    assert len(created) == 2
    assert all(n.actor_label == "" for n in created)


def test_notify_uses_one_insert_whatever_the_recipients(team: Team):
    members = [MembershipFactory(workspace=team.actor.workspace) for _ in range(5)]
    with CaptureQueriesContext(connection) as ctx:
        send(team.actor, [m.user_id for m in members])
    inserts = [q for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1
    assert Notification.objects.count() == 5


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "gossip"},
        {"key": ""},
        {"key": "k" * 256},
        {"title": "   "},
        {"url": "https://evil.example/"},
        {"url": "//evil.example/"},
        {"url": "/\\evil.example"},
        {"url": "javascript:alert(1)"},
        {"target_type": "spaceship", "target_id": uuid.uuid4()},
        {"target_type": "person"},
    ],
)
def test_bad_arguments_are_refused(team: Team, bad):
    with pytest.raises(ValueError):
        send(team.actor, [team.colleague.user_id], **bad)
    assert not Notification.objects.exists()


def test_long_text_is_cut_to_size(team: Team):
    [n] = send(team.actor, [team.colleague.user_id], title="é" * 500, body="ü" * 5000)
    n.refresh_from_db()
    assert len(n.title) == 200 and len(n.body) == 1000


# --- reading --------------------------------------------------------------------------------


def test_mark_read_touches_only_ones_own(team: Team):
    [mine] = send(team.actor, [team.colleague.user_id])
    [theirs] = send(team.colleague_actor, [team.actor.user_id])
    assert services.mark_read(actor=team.colleague_actor, ids=[mine.pk, theirs.pk]) == 1
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.read_at is not None and theirs.read_at is None
    # Marking it again changes nothing.
    assert services.mark_read(actor=team.colleague_actor, ids=[mine.pk]) == 0
    with pytest.raises(ValidationFailed):
        services.mark_read(actor=team.colleague_actor, ids=["not-an-id"])


def test_mark_all_read_and_the_unread_count(team: Team):
    for _ in range(3):
        send(team.actor, [team.colleague.user_id])
    send(team.colleague_actor, [team.actor.user_id])
    assert selectors.unread_count(actor=team.colleague_actor) == 3
    assert services.mark_all_read(actor=team.colleague_actor) == 3
    assert selectors.unread_count(actor=team.colleague_actor) == 0
    assert selectors.unread_count(actor=team.actor) == 1


def test_the_unread_count_stops_at_its_cap(team: Team, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    for _ in range(5):
        send(team.actor, [team.colleague.user_id])
    assert selectors.unread_count(actor=team.colleague_actor) == 3


# --- visibility -----------------------------------------------------------------------------


def test_a_record_in_the_trash_hides_its_notifications(team: Team):
    person = PersonFactory(actor=team.actor)
    send(
        team.actor,
        [team.colleague.user_id],
        target_type="person",
        target_id=person.pk,
        url=f"/people/{person.pk}/",
    )
    send(team.actor, [team.colleague.user_id], title="About nothing in particular")
    assert selectors.unread_count(actor=team.colleague_actor) == 2
    contact_services.person_delete(actor=team.actor, person_id=person.pk)
    page = selectors.notification_list(actor=team.colleague_actor)
    assert [n.title for n in page.rows] == ["About nothing in particular"]
    assert selectors.unread_count(actor=team.colleague_actor) == 1


def test_an_unregistered_target_type_is_hidden(team: Team):
    Notification.objects.create(
        workspace=team.actor.workspace,
        recipient=team.colleague.user,
        kind="mention",
        title="About a removed kind of record",
        target_type="ghost",
        target_id=uuid.uuid4(),
        key="ghost",
    )
    assert selectors.notification_list(actor=team.colleague_actor).rows == []
    assert selectors.unread_count(actor=team.colleague_actor) == 0


# --- preferences ----------------------------------------------------------------------------


def test_set_preference_is_validated_and_audited(team: Team):
    actor = team.colleague_actor
    with pytest.raises(ValidationFailed) as exc:
        services.set_preference(actor=actor, email_mode="sometimes", digest_hour=24)
    assert {e.field for e in exc.value.errors} == {"email_mode", "digest_hour"}
    for bad in (-1, "8am", True, 3.5):
        with pytest.raises(ValidationFailed):
            services.set_preference(actor=actor, digest_hour=bad)
    pref = services.set_preference(actor=actor, email_mode="digest", digest_hour=7)
    assert (pref.email_mode, pref.digest_hour) == ("digest", 7)
    entry = AuditEntry.objects.get(action="notification.preferences_changed")
    assert entry.changes == {
        "email_mode": {"before": "immediate", "after": "digest"},
        "digest_hour": {"before": 8, "after": 7},
    }
    assert entry.actor_user_id == actor.user_id
    # No change, no entry.
    services.set_preference(actor=actor, email_mode="digest")
    assert AuditEntry.objects.filter(action="notification.preferences_changed").count() == 1


def test_preferences_are_per_workspace(team: Team):
    elsewhere = MembershipFactory(user=team.colleague.user)
    services.set_preference(actor=team.colleague_actor, email_mode="off")
    assert selectors.preference_of(actor=actor_for(elsewhere)).email_mode == "immediate"


# --- immediate emails -----------------------------------------------------------------------


def test_an_immediate_email_is_sent_once_even_if_the_task_runs_twice(team: Team):
    [n] = send(team.actor, [team.colleague.user_id], title="Ada assigned you a task")
    assert tasks.send_notification_email(str(n.pk)) is True
    assert tasks.send_notification_email(str(n.pk)) is False  # a redelivered message
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [team.colleague.user.email]
    assert message.subject == f"[{team.actor.workspace.name}] Ada assigned you a task"
    assert f"/notifications/{n.pk}/open/?ws={n.workspace_id}" in message.body
    html, mime = message.alternatives[0]
    assert mime == "text/html" and "Open in Rapport" in html
    n.refresh_from_db()
    assert n.emailed_at is not None


def test_a_failed_send_is_not_marked_sent(team: Team):
    [n] = send(team.actor, [team.colleague.user_id])
    with smtp_down(), pytest.raises(smtplib.SMTPException):
        services.email_notification(notification_id=n.pk)
    n.refresh_from_db()
    assert n.emailed_at is None
    assert services.email_notification(notification_id=n.pk) is True
    assert len(mail.outbox) == 1


def test_html_in_titles_is_escaped_in_the_mail(team: Team):
    [n] = send(team.actor, [team.colleague.user_id], title="<script>alert(1)</script> Ada")
    services.email_notification(notification_id=n.pk)
    html = mail.outbox[0].alternatives[0][0]
    assert "<script>" not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize("mode", [EmailMode.DIGEST, EmailMode.OFF])
def test_no_immediate_email_unless_wanted(team: Team, mode, django_capture_on_commit_callbacks):
    services.set_preference(actor=team.colleague_actor, email_mode=mode)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        [n] = send(team.actor, [team.colleague.user_id])
    assert callbacks == []  # not even queued
    assert services.email_notification(notification_id=n.pk) is False
    assert mail.outbox == []


def test_no_email_for_what_was_read_or_is_no_longer_visible(team: Team):
    [read] = send(team.actor, [team.colleague.user_id])
    services.mark_read(actor=team.colleague_actor, ids=[read.pk])
    person = PersonFactory(actor=team.actor)
    [hidden] = send(team.actor, [team.colleague.user_id], target_type="person", target_id=person.pk)
    contact_services.person_delete(actor=team.actor, person_id=person.pk)
    assert services.email_notification(notification_id=read.pk) is False
    assert services.email_notification(notification_id=hidden.pk) is False
    assert mail.outbox == []


def test_no_email_to_someone_who_left_the_workspace(team: Team):
    [n] = send(team.actor, [team.colleague.user_id])
    team.colleague.delete()
    assert services.email_notification(notification_id=n.pk) is False
    assert mail.outbox == []


# --- daily digests --------------------------------------------------------------------------


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def backdate() -> None:
    """Dates the waiting notifications before the fixed clocks of the digest tests (the
    digest carries only what existed at its ``now``)."""
    Notification.objects.filter(emailed_at__isnull=True).update(
        created_at=_at("2026-01-01T00:00:00+00:00")
    )


@pytest.fixture
def digest_team(team: Team) -> Team:
    """The colleague lives in Paris and wants a digest at 08:00 local time."""
    user = team.colleague.user
    user.time_zone = "Europe/Paris"
    user.save(update_fields=["time_zone"])
    services.set_preference(actor=team.colleague_actor, email_mode="digest", digest_hour=8)
    return team


def test_the_digest_goes_out_once_a_day_after_its_local_hour(digest_team: Team):
    team = digest_team
    for i in range(3):
        send(team.actor, [team.colleague.user_id], title=f"News {i}")
    backdate()
    # 06:59 UTC is 07:59 in Paris (winter time): not yet.
    assert tasks.send_digests(now="2026-01-15T06:59:00+00:00") == 0
    assert mail.outbox == []
    # 07:00 UTC is 08:00 in Paris: due; a second beat (or redelivery) sends nothing more.
    assert tasks.send_digests(now="2026-01-15T07:00:00+00:00") == 1
    assert tasks.send_digests(now="2026-01-15T07:15:00+00:00") == 0
    pref = NotificationPreference.objects.get()
    assert tasks.send_digest(str(pref.pk), "2026-01-15T07:20:00+00:00") == 0
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert (
        message.subject == f"[{team.actor.workspace.name}] Your daily digest: 3 new notifications"
    )
    assert all(f"News {i}" in message.body for i in range(3))
    assert Notification.objects.filter(emailed_at__isnull=True).count() == 0
    pref.refresh_from_db()
    assert pref.last_digest_on == dt.date(2026, 1, 15)

    # The next day: only what is new and unread goes out.
    send(team.actor, [team.colleague.user_id], title="Tomorrow's news")
    [read] = send(team.actor, [team.colleague.user_id], title="Already seen")
    services.mark_read(actor=team.colleague_actor, ids=[read.pk])
    backdate()
    with mock.patch.object(services, "timezone") as tz:  # the task's own clock is not used
        tz.now.side_effect = AssertionError("now comes from the beat")
        assert tasks.send_digests(now="2026-01-16T09:00:00+00:00") == 1
    assert len(mail.outbox) == 2
    assert "Tomorrow's news" in mail.outbox[1].body
    assert "Already seen" not in mail.outbox[1].body
    assert "1 new notification in" in mail.outbox[1].body


def test_a_day_without_news_sends_no_digest(digest_team: Team):
    assert (
        services.send_digest(
            preference_id=NotificationPreference.objects.get().pk, now=_at("2026-01-15T12:00+00:00")
        )
        == 0
    )
    assert mail.outbox == []
    # …and counts as the day's digest: news arriving later that day waits for tomorrow.
    send(digest_team.actor, [digest_team.colleague.user_id])
    backdate()
    assert tasks.send_digests(now="2026-01-15T13:00:00+00:00") == 0
    assert tasks.send_digests(now="2026-01-16T07:00:00+00:00") == 1
    assert len(mail.outbox) == 1


def test_the_digest_hour_is_read_in_the_users_time_zone(digest_team: Team):
    user = digest_team.colleague.user
    user.time_zone = "Pacific/Kiritimati"  # UTC+14: 08:00 there is 18:00 UTC the day before
    user.save(update_fields=["time_zone"])
    send(digest_team.actor, [digest_team.colleague.user_id])
    backdate()
    assert tasks.send_digests(now="2026-01-14T17:59:00+00:00") == 0
    assert tasks.send_digests(now="2026-01-14T18:00:00+00:00") == 1
    assert NotificationPreference.objects.get().last_digest_on == dt.date(2026, 1, 15)


def test_a_failed_digest_can_be_sent_again(digest_team: Team):
    send(digest_team.actor, [digest_team.colleague.user_id])
    backdate()
    pref = NotificationPreference.objects.get()
    now = _at("2026-01-15T10:00:00+00:00")
    with smtp_down(), pytest.raises(smtplib.SMTPException):
        services.send_digest(preference_id=pref.pk, now=now)
    pref.refresh_from_db()
    assert pref.last_digest_on is None
    assert Notification.objects.get().emailed_at is None
    assert services.send_digest(preference_id=pref.pk, now=now) == 1
    assert len(mail.outbox) == 1


def test_the_digest_leaves_out_hidden_records(digest_team: Team):
    team = digest_team
    person = PersonFactory(actor=team.actor, first_name="Grace", last_name="Hopper")
    send(
        team.actor,
        [team.colleague.user_id],
        title="About Grace",
        target_type="person",
        target_id=person.pk,
    )
    send(team.actor, [team.colleague.user_id], title="About the weather")
    contact_services.person_delete(actor=team.actor, person_id=person.pk)
    backdate()
    assert tasks.send_digests(now="2026-01-15T10:00:00+00:00") == 1
    body = mail.outbox[0].body
    assert "About the weather" in body and "About Grace" not in body


def test_a_long_digest_lists_the_newest_and_counts_the_rest(digest_team: Team, monkeypatch):
    from rapport.notifications import emails

    monkeypatch.setattr(emails, "DIGEST_LISTED", 2)
    for i in range(5):
        send(digest_team.actor, [digest_team.colleague.user_id], title=f"News {i}")
    backdate()
    assert tasks.send_digests(now="2026-01-15T10:00:00+00:00") == 1
    body = mail.outbox[0].body
    assert "and 3 more" in body
    assert Notification.objects.filter(emailed_at__isnull=True).count() == 0


def test_digest_preferences_of_other_modes_are_never_due(team: Team):
    services.set_preference(actor=team.colleague_actor, email_mode="off")
    send(team.actor, [team.colleague.user_id])
    assert services.due_digests(now=_at("2026-01-15T23:00:00+00:00")) == []
    assert tasks.send_digest(str(NotificationPreference.objects.get().pk)) == 0


def test_a_read_only_member_is_notified_too(team: Team):
    reader = MembershipFactory(workspace=team.actor.workspace, role=Role.READ_ONLY.value)
    [n] = send(team.actor, [reader.user_id])
    assert services.mark_read(actor=actor_for(reader), ids=[n.pk]) == 1

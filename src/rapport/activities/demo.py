"""Interactions and tasks of the demo workspace: deterministic, through the services."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import Any

from django.utils import timezone

from rapport.core.actors import Actor

from . import services

SEED = 4242
SOURCE = "demo"

CALL_SUBJECTS = ["Discovery call", "Pricing questions", "Renewal check-in", "Support follow-up"]
NOTE_BODIES = [
    "Met at the **trade fair**. Interested in the *team plan*; budget approved for Q3.",
    "Prefers email over phone. Decision maker is the CFO.\n\n- wants SSO\n- needs EU hosting",
    "Asked for a reference customer in their industry.",
    "Churn risk: complained about onboarding. Offer a training session.",
]
EMAIL_SUBJECTS = ["Your quote", "Re: onboarding", "Meeting notes", "Contract draft"]
MEETING_SUBJECTS = ["Kick-off", "Quarterly review", "Product demo", "Contract negotiation"]
TASK_TITLES = [
    "Send the quote",
    "Call back about pricing",
    "Prepare the demo",
    "Follow up on the contract",
    "Check in after onboarding",
]


def install(
    *,
    actor: Actor,
    members: Sequence[Any],
    people: Sequence[tuple[Any, str]],
    seed: int = SEED,
) -> tuple[int, int]:
    """Logs interactions with some of ``people`` ((id, email) pairs) and gives the members
    tasks (overdue, today, upcoming, a repeating one); answers (interactions, tasks)."""
    rng = random.Random(seed)
    now = timezone.now().replace(second=0, microsecond=0)
    interactions = tasks = 0
    chosen = rng.sample(list(people), k=min(len(people), 120))
    for index, (person_id, email) in enumerate(chosen):
        target = [{"type": "person", "id": str(person_id)}]
        for _ in range(rng.choice((1, 2, 3, 5, 8))):
            when = now - dt.timedelta(days=rng.uniform(0, 180))
            kind = rng.choices(
                ["note", "call", "email", "meeting", "chat", "sms"], (4, 5, 5, 2, 1, 1)
            )[0]
            data: dict[str, Any] = {"type": kind, "targets": target, "occurred_at": when}
            if kind == "note":
                data["body"] = rng.choice(NOTE_BODIES)
                data["pinned"] = index % 40 == 0
            elif kind == "call":
                data |= {
                    "subject": rng.choice(CALL_SUBJECTS),
                    "direction": rng.choice(["inbound", "outbound"]),
                    "body": "Talked through the next steps.",
                    "data": {
                        "duration_s": rng.randrange(60, 1800),
                        "outcome": rng.choice(
                            ["connected", "connected", "no_answer", "left_voicemail"]
                        ),
                    },
                }
            elif kind == "email":
                inbound = rng.random() < 0.5
                data |= {
                    "subject": rng.choice(EMAIL_SUBJECTS),
                    "direction": "inbound" if inbound else "outbound",
                    "body": "Hello,\n\nplease find the details below.\n\nBest regards",
                    "data": {
                        "from": email if inbound else "sales@rapport-demo.example",
                        "to": ["sales@rapport-demo.example"] if inbound else [email],
                        "html": "<p>Hello,</p><p>please find the <b>details</b> below.</p>"
                        "<p>Best regards</p>",
                    },
                }
            elif kind == "meeting":
                starts = when.replace(hour=rng.randrange(8, 17), minute=0)  # office hours
                data |= {
                    "subject": rng.choice(MEETING_SUBJECTS),
                    "data": {
                        "starts_at": starts.isoformat(),
                        "ends_at": (starts + dt.timedelta(hours=1)).isoformat(),
                        "location": "Video call",
                        "url": "https://meet.example/abc-defg",
                        "attendees": [{"email": email}, {"user": str(rng.choice(members))}],
                    },
                }
                data.pop("occurred_at")
            else:
                data |= {"body": "Can we move the call to Thursday?", "direction": "inbound"}
            services.activity_create(actor=actor, data=data, source=SOURCE)
            interactions += 1
    for index, (person_id, _email) in enumerate(chosen[:40]):
        due = now + dt.timedelta(
            days=rng.choice((-5, -2, 0, 0, 1, 3, 7, 14)), hours=rng.randrange(1, 8)
        )
        services.task_create(
            actor=actor,
            data={
                "title": rng.choice(TASK_TITLES),
                "due_at": due,
                "remind_at": due - dt.timedelta(hours=1),
                "priority": rng.choice(["low", "normal", "normal", "high", "urgent"]),
                "assignee": str(members[index % len(members)]),
                "targets": [{"type": "person", "id": str(person_id)}],
            },
            source=SOURCE,
        )
        tasks += 1
    services.task_create(
        actor=actor,
        data={
            "title": "Weekly pipeline review",
            "due_at": now + dt.timedelta(days=(7 - now.weekday()) % 7 or 7),
            "rrule": "FREQ=WEEKLY;BYDAY=MO",
            "assignee": str(members[0]),
        },
        source=SOURCE,
    )
    return interactions, tasks + 1

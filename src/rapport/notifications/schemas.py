"""API shapes of notifications and notification preferences."""

from __future__ import annotations

import datetime as dt
import uuid

from ninja import Field, Schema

from rapport.core.api import StrictSchema


class TargetOut(Schema):
    type: str
    id: uuid.UUID


class NotificationOut(Schema):
    id: uuid.UUID
    kind: str = Field(..., description="mention, assignment, reminder, …")
    title: str
    body: str
    url: str = Field(..., description="A path on this site to open (may be empty)")
    target: TargetOut | None = Field(..., description="The record it is about, if any")
    actor: str = Field(..., description="Who caused it (empty for the system)")
    created_at: dt.datetime
    read_at: dt.datetime | None

    @staticmethod
    def resolve_target(obj) -> dict | None:
        if not obj.target_type or obj.target_id is None:
            return None
        return {"type": obj.target_type, "id": obj.target_id}

    @staticmethod
    def resolve_actor(obj) -> str:
        return obj.actor_label


class NotificationList(Schema):
    results: list[NotificationOut]
    next: str | None


class MarkedOut(Schema):
    marked: int = Field(..., description="How many notifications turned read")


class PreferenceOut(Schema):
    email_mode: str = Field(..., description="immediate, digest or off")
    digest_hour: int = Field(..., description="Hour (0-23) of the daily digest, local time")
    time_zone: str = Field(..., description="The user's time zone the hour is read in")

    @staticmethod
    def resolve_time_zone(obj) -> str:
        return obj.user.time_zone or "UTC"


class PreferenceIn(StrictSchema):
    email_mode: str | None = Field(None, description="immediate, digest or off")
    digest_hour: int | None = Field(None, description="0-23, in the user's time zone")

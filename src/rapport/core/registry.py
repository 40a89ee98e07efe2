"""What each model supports, read from the feature mixins it inherits (DESIGN rule 7).

Shared code asks here instead of hard-coding model lists: the trash lists every soft-deletable
model, custom fields attach to every model with a ``custom`` column, and so on.
"""

from __future__ import annotations

from django.apps import apps
from django.db import models

from .models import ActorStamped, HasCustomFields, SoftDeletable, Tagged, Versioned, WorkspaceModel

FEATURES: dict[str, type[models.Model]] = {
    "workspace": WorkspaceModel,
    "actor_stamps": ActorStamped,
    "versioned": Versioned,
    "soft_delete": SoftDeletable,
    "tags": Tagged,
    "custom_fields": HasCustomFields,
}


def features_of(model: type[models.Model]) -> frozenset[str]:
    return frozenset(name for name, mixin in FEATURES.items() if issubclass(model, mixin))


def models_with(feature: str) -> list[type[models.Model]]:
    mixin = FEATURES[feature]
    return [m for m in apps.get_models() if issubclass(m, mixin)]

from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    name = "rapport.activities"
    label = "activities"

    def ready(self) -> None:
        from rapport.core import targets

        # Interactions and tasks carry files and notifications but are not linked to by
        # other interactions (not "linkable").
        targets.register(
            "activity",
            "activities.Activity",
            label="Interaction",
            url_name="activities:activity_detail",
            linkable=False,
        )
        targets.register(
            "task",
            "activities.Task",
            label="Task",
            url_name="activities:task_detail",
            linkable=False,
        )
        from . import (
            merging,  # noqa: F401  (moves links when people or companies merge)
            purging,  # noqa: F401  (drops links to records deleted for good)
            sections,  # noqa: F401  (the timeline and figures of record pages)
            task_sections,  # noqa: F401  (the Tasks section of record pages)
        )

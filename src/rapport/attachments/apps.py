from django.apps import AppConfig


class AttachmentsConfig(AppConfig):
    name = "rapport.attachments"
    label = "attachments"
    verbose_name = "Files"

    def ready(self) -> None:
        from rapport.contacts.merging import register_mover
        from rapport.core import targets
        from rapport.ui import sections

        from . import events  # noqa: F401 (registers the event types)
        from .services import count_attachments, move_attachments, purge_for_targets
        from .views import section_context

        targets.on_purge(purge_for_targets)
        for object_type in ("person", "company"):
            register_mover(object_type, move_attachments, label="files", count=count_attachments)
            sections.register(
                object_type,
                sections.Section(
                    key="files",
                    title="Files",
                    template="attachments/section.html",
                    context=section_context,
                    order=60,
                    column="side",
                ),
            )

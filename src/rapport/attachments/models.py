"""Files attached to a record or an interaction (any registered target type)."""

from __future__ import annotations

from django.db import models

from rapport.core.models import ActorStamped, SoftDeletable, WorkspaceModel, trash_index

# Shown in the browser (``?inline=1``); everything else is only ever downloaded.
PREVIEWABLE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
PREVIEWABLE = PREVIEWABLE_IMAGES | {"application/pdf"}


def _upload_path(attachment: Attachment, filename: str) -> str:
    # The id in the path keeps two files of the same name apart. The path is no secret: files
    # are only sent through the views that check access (MEDIA_URL is not served).
    return f"attachments/{attachment.workspace_id}/{attachment.pk}/{filename}"


class Attachment(WorkspaceModel, ActorStamped, SoftDeletable):
    target_type = models.CharField(max_length=32)  # a rapport.core.targets name
    target_id = models.UUIDField()
    file = models.FileField(upload_to=_upload_path, max_length=300)
    filename = models.CharField(max_length=255)  # as uploaded, sanitised: shown, never a path
    content_type = models.CharField(max_length=100)  # sniffed from the content
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        indexes = [
            models.Index(
                fields=["workspace", "target_type", "target_id", "created_at"],
                name="attachment_target_recent",
            ),
            trash_index("attachment_trash"),
        ]

    def __str__(self) -> str:
        return self.filename

    @property
    def previewable(self) -> bool:
        return self.content_type in PREVIEWABLE

    @property
    def is_image(self) -> bool:
        return self.content_type in PREVIEWABLE_IMAGES

    @property
    def is_pdf(self) -> bool:
        return self.content_type == "application/pdf"

    @property
    def extension_label(self) -> str:
        """What the list shows where an image has its thumbnail: "PDF", "DOCX"."""
        _, dot, ext = self.filename.rpartition(".")
        return ext[:4].upper() if dot and ext.isalnum() else "FILE"

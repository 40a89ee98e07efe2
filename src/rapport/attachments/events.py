from rapport.audit.events import register

ATTACHMENT_UPLOADED = register("attachment.uploaded", "File attached")
ATTACHMENT_DELETED = register("attachment.deleted", "File deleted")
ATTACHMENT_RESTORED = register("attachment.restored", "File restored")
ATTACHMENT_PURGED = register("attachment.purged", "File deleted for good")

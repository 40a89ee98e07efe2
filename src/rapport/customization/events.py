from rapport.audit.events import register

FIELD_CREATED = register("custom_field.created", "Custom field created")
FIELD_UPDATED = register("custom_field.updated", "Custom field changed")
FIELD_DELETED = register("custom_field.deleted", "Custom field deleted")

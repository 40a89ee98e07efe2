from rapport.audit.events import register

FIELD_CREATED = register("custom_field.created", "Custom field created")
FIELD_UPDATED = register("custom_field.updated", "Custom field changed")
FIELD_DELETED = register("custom_field.deleted", "Custom field deleted")
VIEW_CREATED = register("saved_view.created", "Saved view created")
VIEW_UPDATED = register("saved_view.updated", "Saved view changed")
VIEW_DELETED = register("saved_view.deleted", "Saved view deleted")

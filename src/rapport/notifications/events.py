from rapport.audit.events import register

PREFERENCES_CHANGED = register(
    "notification.preferences_changed", "Notification preferences changed"
)

from rapport.audit.events import register

ACTIVITY_CREATED = register("activity.created", "Interaction logged")
ACTIVITY_UPDATED = register("activity.updated", "Interaction changed")
ACTIVITY_DELETED = register("activity.deleted", "Interaction deleted")
TASK_CREATED = register("task.created", "Task created")
TASK_UPDATED = register("task.updated", "Task changed")
TASK_COMPLETED = register("task.completed", "Task completed")
TASK_DELETED = register("task.deleted", "Task deleted")
CALENDAR_FEED_CREATED = register("calendar_feed.created", "Calendar feed link created")
CALENDAR_FEED_REVOKED = register("calendar_feed.revoked", "Calendar feed link revoked")
ACTIVITY_PURGED = register("activity.purged", "Interaction deleted for good")
TASK_PURGED = register("task.purged", "Task deleted for good")

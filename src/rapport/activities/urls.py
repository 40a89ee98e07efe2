"""The activities pages: timelines and interactions, tasks and My work, the calendar, and the
trash of interactions and tasks."""

from .calendar_views import urlpatterns as calendar_urls
from .task_views import urlpatterns as task_urls
from .timeline_views import urlpatterns as timeline_urls
from .trash_views import urlpatterns as trash_urls

app_name = "activities"
urlpatterns = [*trash_urls, *timeline_urls, *task_urls, *calendar_urls]

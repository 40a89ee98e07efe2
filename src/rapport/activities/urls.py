"""The activities pages: timelines and interactions, tasks and My work, the calendar."""

from .calendar_views import urlpatterns as calendar_urls
from .task_views import urlpatterns as task_urls
from .timeline_views import urlpatterns as timeline_urls

app_name = "activities"
urlpatterns = [*timeline_urls, *task_urls, *calendar_urls]

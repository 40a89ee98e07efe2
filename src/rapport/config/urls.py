from django.urls import include, path

from .api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("accounts/", include("rapport.users.urls")),
    path("", include("rapport.tenancy.urls")),
    path("", include("rapport.contacts.urls")),
    path("", include("rapport.customization.urls")),
    path("", include("rapport.search.urls")),
    path("", include("rapport.imports.urls")),
    path("", include("rapport.activities.urls")),
    path("", include("rapport.notifications.urls")),
    path("", include("rapport.attachments.urls")),
    path("", include("rapport.sales.urls")),
    path("", include("rapport.audit.urls")),
    path("", include("rapport.ui.urls")),
]

"""Settings → Workspace → Logo: upload, remove, and the image itself for the app's pages.

Every member may see the logo (it heads their quotes); only admins change it (the service
checks). The image is served by this view, never by a media URL: uploads are not public files.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from rapport.core.errors import ValidationFailed
from rapport.tenancy.models import Workspace
from rapport.ui.views import workspace_required

from . import logo_services
from .views import _settings_page, actor_of


def logo_response(workspace: Workspace) -> HttpResponse:
    """The workspace's logo image (404 without one). Its URL carries ``?v=`` of the stored
    name, which changes with every upload, so it may be cached for long."""
    data = logo_services.logo_bytes(workspace)
    if data is None:
        raise Http404("No logo")
    response = HttpResponse(data, content_type=logo_services.logo_content_type(workspace))
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    # Private: the customer page's logo URL carries the quote's token.
    response["Cache-Control"] = "private, max-age=86400"
    return response


@require_POST
@workspace_required
def logo_upload(request: HttpRequest) -> HttpResponse:
    upload = request.FILES.get("logo")
    if upload is None:
        return _settings_page(
            request, logo_errors=["Choose a PNG or JPEG file to upload."], status=422
        )
    try:
        logo_services.workspace_logo_set(actor=actor_of(request), upload=upload)
    except ValidationFailed as exc:
        errors = [e.message for e in exc.errors] or [exc.detail]
        return _settings_page(request, logo_errors=errors, status=422)
    messages.success(request, "Logo saved: it now heads your quotes.")
    return redirect(reverse("tenancy:settings") + "#logo")


@require_POST
@workspace_required
def logo_remove(request: HttpRequest) -> HttpResponse:
    logo_services.workspace_logo_remove(actor=actor_of(request))
    messages.success(request, "Logo removed: quotes show the workspace name instead.")
    return redirect(reverse("tenancy:settings") + "#logo")


@require_GET
@workspace_required
def logo_image(request: HttpRequest) -> HttpResponse:
    return logo_response(actor_of(request).workspace)


urlpatterns = [
    path("settings/logo/", logo_upload, name="logo_upload"),
    path("settings/logo/remove/", logo_remove, name="logo_remove"),
    path("settings/logo/image/", logo_image, name="logo_image"),
]

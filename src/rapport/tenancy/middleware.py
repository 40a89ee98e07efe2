from .selectors import ui_actor


class WorkspaceMiddleware:
    """Resolves the workspace a signed-in browser acts in (from the session) into ``request.actor``.

    The API resolves its actor from the bearer token instead (rapport.core.api.TokenAuth).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.actor = None
        if not request.path.startswith(("/api/", "/static/")):
            request.actor = ui_actor(request)
        return self.get_response(request)

from .rls import bind_workspace
from .selectors import ui_actor


class WorkspaceMiddleware:
    """Resolves the workspace a signed-in browser acts in (from the session) into ``request.actor``
    and binds it for PostgreSQL's row-level security for the length of the request.

    The API resolves its actor from the bearer token instead (rapport.core.api.TokenAuth), which
    binds the workspace the same way; the binding is undone here for both.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.actor = None
        request.rls_bound = False
        if not request.path.startswith(("/api/", "/static/")):
            request.actor = ui_actor(request)
            if request.actor is not None:
                request.rls_bound = bind_workspace(request.actor.workspace.pk)
        try:
            return self.get_response(request)
        finally:
            if request.rls_bound:
                # Connections outlive requests: the next one must not inherit this workspace.
                bind_workspace(None)

def workspace(request):
    """Exposes the acting workspace and the user's workspaces to every template."""
    actor = getattr(request, "actor", None)
    if actor is None:
        return {"actor": None}
    from rapport.tenancy.selectors import memberships_of

    return {
        "actor": actor,
        "current_workspace": actor.workspace,
        "my_memberships": lambda: memberships_of(request.user),
    }

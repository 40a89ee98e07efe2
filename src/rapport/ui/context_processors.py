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
        "pinned_views": lambda: _pinned_views(actor),
    }


def _pinned_views(actor):
    """Saved views pinned in the navigation (read only when the page shows the navigation)."""
    from rapport.customization.selectors import pinned_views

    return pinned_views(actor)

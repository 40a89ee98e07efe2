"""django-axes hook: lock out by the normalised email, so case variants share one counter."""


def lockout_username(request, credentials: dict | None) -> str:
    raw = (credentials or {}).get("username") or request.POST.get("username", "")
    return str(raw).strip().lower()

"""Test clients: an API client that speaks as one token, and a signed-in browser client."""

from __future__ import annotations

import orjson
from django.test import Client

from rapport.core.actors import Role
from rapport.tenancy.models import Membership
from rapport.users.services import hash_token

from .factories import MembershipFactory


class ApiClient:
    """Talks to /api/v1 with a bearer token of one member of one workspace."""

    def __init__(self, membership: Membership, token: str):
        self.membership = membership
        self.workspace = membership.workspace
        self.user = membership.user
        self.token = token
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def _call(self, method: str, path: str, body=None, headers=None, **kwargs):
        url = path if path.startswith("/api/") else f"/api/v1{path}"
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}
        fn = getattr(self.client, method)
        if method in ("post", "patch", "put"):
            if body is not None and not isinstance(body, bytes | str):
                body = orjson.dumps(body)
            return fn(url, data=body, content_type="application/json", **extra, **kwargs)
        if method == "delete":
            return fn(url, **extra, **kwargs)
        return fn(url, data=body or {}, **extra, **kwargs)

    def get(self, path, params=None, **kw):
        return self._call("get", path, params, **kw)

    def post(self, path, body=None, **kw):
        return self._call("post", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self._call("patch", path, body, **kw)

    def delete(self, path, **kw):
        return self._call("delete", path, **kw)


def make_api_client(role: Role = Role.OWNER, workspace=None, name: str = "tests") -> ApiClient:
    from rapport.users.models import ApiToken

    kwargs = {"role": role.value}
    if workspace is not None:
        kwargs["workspace"] = workspace
    membership = MembershipFactory(**kwargs)
    raw = f"rpt_test_{membership.pk.hex}"
    ApiToken.objects.create(
        workspace=membership.workspace,
        user=membership.user,
        name=name,
        prefix=raw[:10],
        key_hash=hash_token(raw),
    )
    return ApiClient(membership, raw)


def make_browser(role: Role = Role.OWNER, workspace=None) -> tuple[Client, Membership]:
    kwargs = {"role": role.value}
    if workspace is not None:
        kwargs["workspace"] = workspace
    membership = MembershipFactory(**kwargs)
    client = Client()
    client.force_login(membership.user)
    return client, membership

"""The shared API contract on /api/v1/custom-fields.

Custom fields are settings: members read them, only owners and admins change them. The suite's
"members delete their own records" checks do not apply, so they are replaced by the admin rule.
"""

from __future__ import annotations

import pytest

from rapport.core.actors import Role
from rapport.testing.suites import ApiContractSuite, Resource, assert_problem, unique

pytestmark = pytest.mark.django_db


def field_payload(client, n: int) -> dict:
    return {
        "object_type": "contacts.person" if n % 2 else "contacts.company",
        "key": f"field_{n}",
        "label": f"Field {n}",
        "type": "select",
        "options": [{"value": "gold", "label": "Gold"}, {"label": "Silver"}],
        "help_text": "Customer tier",
        "show_in_list": True,
    }


CUSTOM_FIELDS = Resource(
    path="/custom-fields",
    object_type="customization.customfield",
    payload=field_payload,
    update={"label": "Renamed field", "required": True},
    search_text=None,
    history=False,
)


class TestCustomFieldsContract(ApiContractSuite):
    resource = CUSTOM_FIELDS

    # Definitions are the admins': members and managers may not create, change or delete them.
    def test_member_deletes_own_records_but_not_others(self, api, api_as):
        created = self.create(api)
        for role in (Role.MEMBER, Role.MANAGER):
            client = api_as(role)
            assert self.fetch(client, created["id"]) == created
            assert_problem(client.post(self.url(), self.resource.payload(client, unique())), 403)
            assert_problem(client.patch(self.url(created["id"]), self.resource.update), 403)
            assert_problem(client.delete(self.url(created["id"])), 403)
        assert self.fetch(api, created["id"]) == created

    def test_member_deletes_any_record_when_the_workspace_allows_it(self, api, api_as):
        api.workspace.members_can_delete_any = True
        api.workspace.save(update_fields=["members_can_delete_any"])
        created = self.create(api)
        assert_problem(api_as(Role.MEMBER).delete(self.url(created["id"])), 403)
        assert self.fetch(api, created["id"]) == created

    def test_managers_delete_anyones_records(self, api, api_as):
        created = self.create(api_as(Role.ADMIN))
        assert_problem(api_as(Role.MANAGER).delete(self.url(created["id"])), 403)
        assert api_as(Role.ADMIN).delete(self.url(created["id"])).status_code == 204

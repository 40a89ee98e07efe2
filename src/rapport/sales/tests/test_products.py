"""The product catalogue: services (roles, SKU uniqueness, prices, delete-or-deactivate), the
/api/v1/products endpoints and the products pages."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rapport.audit.models import AuditEntry
from rapport.core.actors import Role
from rapport.core.errors import Duplicate, NotFound, PermissionDenied, ValidationFailed
from rapport.sales import quote_services as services
from rapport.sales.quote_models import Product
from rapport.testing.clients import make_api_client, make_browser
from rapport.testing.factories import DealFactory, MembershipFactory, actor_for

pytestmark = [pytest.mark.django_db, pytest.mark.urls("rapport.sales.tests.test_quotes_urlconf")]

WIDGET = {
    "sku": "W-1",
    "name": "Widget",
    "tax_rate": "20",
    "prices": [{"amount": "10.00", "currency": "EUR"}, {"amount": "12.50", "currency": "USD"}],
}


@pytest.fixture
def manager():
    return actor_for(MembershipFactory(role=Role.MANAGER.value))


def member_of(actor, role=Role.MEMBER):
    return actor_for(MembershipFactory(workspace=actor.workspace, role=role.value))


def test_create_update_and_audit(manager):
    product = services.product_create(actor=manager, data=WIDGET)
    assert product.tax_rate == Decimal("20.00") and product.active
    assert {p.currency: p.unit_price for p in product.prices.all()} == {
        "EUR": Decimal("10.00"),
        "USD": Decimal("12.50"),
    }
    updated = services.product_update(
        actor=manager,
        product_id=product.pk,
        data={"name": "Widget Pro", "prices": [{"amount": "11.00", "currency": "EUR"}]},
        expected_version=1,
    )
    assert updated.version == 2 and updated.name == "Widget Pro"
    assert [(p.currency, p.unit_price) for p in updated.prices.all()] == [("EUR", Decimal("11.00"))]
    entries = AuditEntry.objects.filter(object_id=str(product.pk)).order_by("created_at")
    assert [e.action for e in entries] == ["product.created", "product.updated"]
    assert entries[1].changes["prices"]["before"] == {"EUR": "10.00", "USD": "12.50"}


def test_sku_is_unique_per_workspace_case_insensitively(manager):
    services.product_create(actor=manager, data=WIDGET)
    with pytest.raises(Duplicate):
        services.product_create(actor=manager, data=WIDGET | {"sku": "w-1"})
    other = actor_for(MembershipFactory(role=Role.ADMIN.value))
    assert services.product_create(actor=other, data=WIDGET).sku == "W-1"


def test_bad_input_is_refused_with_field_errors(manager):
    with pytest.raises(ValidationFailed) as exc:
        services.product_create(
            actor=manager,
            data={
                "sku": "",
                "name": "X",
                "tax_rate": "120",
                "prices": [{"amount": "1.001", "currency": "EUR"}],
            },
        )
    fields = {e.field for e in exc.value.errors}
    assert {"sku", "tax_rate", "prices.0.amount"} <= fields
    assert not Product.objects.exists()


@pytest.mark.parametrize("role", [Role.MEMBER, Role.READ_ONLY])
def test_members_and_read_only_cannot_write_the_catalogue(manager, role):
    product = services.product_create(actor=manager, data=WIDGET)
    actor = member_of(manager, role)
    with pytest.raises(PermissionDenied):
        services.product_create(actor=actor, data=WIDGET | {"sku": "W-2"})
    with pytest.raises(PermissionDenied):
        services.product_update(actor=actor, product_id=product.pk, data={"name": "x"})
    with pytest.raises(PermissionDenied):
        services.product_delete(actor=actor, product_id=product.pk)


def test_another_workspace_product_is_not_found(manager):
    product = services.product_create(actor=manager, data=WIDGET)
    stranger = actor_for(MembershipFactory(role=Role.OWNER.value))
    with pytest.raises(NotFound):
        services.product_update(actor=stranger, product_id=product.pk, data={"name": "x"})
    with pytest.raises(NotFound):
        services.product_delete(actor=stranger, product_id=product.pk)


def test_delete_removes_an_unused_product_and_deactivates_a_used_one(manager):
    unused = services.product_create(actor=manager, data=WIDGET)
    assert services.product_delete(actor=manager, product_id=unused.pk) == "deleted"
    assert not Product.objects.filter(pk=unused.pk).exists()

    used = services.product_create(actor=manager, data=WIDGET)
    deal = DealFactory(actor=manager, amount={"amount": "1.00", "currency": "EUR"})
    services.deal_line_items_set(actor=manager, deal_id=deal.pk, items=[{"product": str(used.pk)}])
    assert services.product_delete(actor=manager, product_id=used.pk) == "deactivated"
    used.refresh_from_db()
    assert used.active is False


# --- API --------------------------------------------------------------------------------------


def test_api_crud_and_filters():
    api = make_api_client(Role.ADMIN)
    created = api.post("/products", WIDGET)
    assert created.status_code == 201, created.content
    body = created.json()
    assert created["Location"] == f"/api/v1/products/{body['id']}"
    assert body["tax_rate"] == "20.00"
    assert {"amount": "10.00", "currency": "EUR"} in body["prices"]
    api.post("/products", {"sku": "G-1", "name": "Gadget", "active": False})

    assert [p["sku"] for p in api.get("/products").json()["results"]] == ["G-1", "W-1"]
    assert [p["sku"] for p in api.get("/products", {"active": "true"}).json()["results"]] == ["W-1"]
    assert [p["sku"] for p in api.get("/products", {"q": "gadg"}).json()["results"]] == ["G-1"]

    patched = api.patch(
        f"/products/{body['id']}", {"name": "Widget 2"}, headers={"If-Match": '"1"'}
    )
    assert patched.status_code == 200 and patched["ETag"] == '"2"'
    stale = api.patch(f"/products/{body['id']}", {"name": "W3"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    dup = api.post("/products", WIDGET)
    assert dup.status_code == 409 and dup.json()["existing_id"] == body["id"]
    assert api.post("/products", {"sku": "X", "name": "Y", "bogus": 1}).status_code == 422
    assert api.delete(f"/products/{body['id']}").status_code == 204
    assert api.get(f"/products/{body['id']}").status_code == 404


def test_api_members_read_and_are_refused_writes():
    admin = make_api_client(Role.ADMIN)
    product = admin.post("/products", WIDGET).json()
    for role in (Role.MEMBER, Role.READ_ONLY):
        api = make_api_client(role, workspace=admin.workspace)
        assert api.get(f"/products/{product['id']}").status_code == 200
        assert api.post("/products", WIDGET | {"sku": "Z"}).status_code == 403
        assert api.patch(f"/products/{product['id']}", {"name": "x"}).status_code == 403
        assert api.delete(f"/products/{product['id']}").status_code == 403


def test_api_isolation():
    admin = make_api_client(Role.ADMIN)
    product = admin.post("/products", WIDGET).json()
    stranger = make_api_client(Role.OWNER)
    assert stranger.get(f"/products/{product['id']}").status_code == 404
    assert stranger.patch(f"/products/{product['id']}", {"name": "x"}).status_code == 404
    assert stranger.delete(f"/products/{product['id']}").status_code == 404
    assert stranger.get("/products").json()["results"] == []


# --- pages ------------------------------------------------------------------------------------


def test_pages_list_create_and_edit():
    client, _membership = make_browser(Role.MANAGER)
    assert "No products yet" in client.get("/products/").content.decode()
    response = client.post(
        "/products/new/",
        {
            "sku": "W-1",
            "name": "<b>Widget</b>",
            "tax_rate": "20",
            "active": "on",
            "price_currency": ["EUR", ""],
            "price_amount": ["10.00", ""],
        },
    )
    assert response.status_code == 302
    page = client.get("/products/").content.decode()
    assert "&lt;b&gt;Widget&lt;/b&gt;" in page and "EUR 10.00" in page
    product = Product.objects.get(sku="W-1")
    bad = client.post(f"/products/{product.pk}/edit/", {"sku": "W-1", "name": "", "tax_rate": "x"})
    assert bad.status_code == 422 and "Nothing was saved" in bad.content.decode()


def test_pages_members_see_the_list_but_not_the_form():
    client, _membership = make_browser(Role.MEMBER)
    assert client.get("/products/").status_code == 200
    assert client.get("/products/new/").status_code == 403

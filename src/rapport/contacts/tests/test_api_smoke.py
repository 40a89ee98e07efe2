import pytest

pytestmark = pytest.mark.django_db


def test_create_get_list(api):
    r = api.post(
        "/contacts",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ADA@Example.com",
            "phone": "+44 20 7946 0958",
            "tags": ["vip"],
            "address": {"country": "gb"},
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["email"] == "ada@example.com"
    assert body["phone"] == "+442079460958"
    assert body["address"]["country"] == "GB"
    assert r["ETag"] == '"1"'
    r = api.get(f"/contacts/{body['id']}")
    assert r.status_code == 200
    r = api.get("/contacts")
    assert r.json()["results"][0]["id"] == body["id"]
    r = api.get("/search", {"q": "lovlace"})
    assert r.status_code == 200, r.content
    assert r.json()["results"][0]["id"] == body["id"]

from rapport.contacts.models import Company, Person
from rapport.core.models import Tag
from rapport.core.registry import features_of, models_with


def test_people_and_companies_declare_every_record_feature():
    expected = {"workspace", "actor_stamps", "versioned", "soft_delete", "tags", "custom_fields"}
    assert features_of(Person) == expected
    assert features_of(Company) == expected
    assert features_of(Tag) == {"workspace"}


def test_models_with_a_feature_are_found_across_apps():
    soft = models_with("soft_delete")
    assert Person in soft and Company in soft and Tag not in soft

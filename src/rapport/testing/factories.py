"""factory-boy factories. Domain records are made through their services, like real ones."""

from __future__ import annotations

import factory
from faker import Faker

from rapport.contacts import services as contact_services
from rapport.contacts.models import Company, Person
from rapport.core.actors import Actor, ActorKind, Role
from rapport.sales import services as sales_services
from rapport.sales.models import Deal, Pipeline
from rapport.tenancy.models import Membership, Workspace
from rapport.users.models import User

fake = Faker()
Faker.seed(1234)

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Workspace {n}")
    slug = factory.Sequence(lambda n: f"ws-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    workspace = factory.SubFactory(WorkspaceFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.OWNER.value


def actor_for(membership: Membership, kind: ActorKind = ActorKind.USER) -> Actor:
    return Actor(
        kind=kind, workspace=membership.workspace, role=Role(membership.role), user=membership.user
    )


class _ServiceFactory(factory.Factory):
    """Builds the API-shaped data dict and creates the record through its service."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, actor: Actor | None = None, workspace=None, **data):
        if actor is None:
            workspace = workspace or WorkspaceFactory()
            actor = Actor.system(workspace, "tests")
        return cls._service(actor=actor, data=data)


class CompanyFactory(_ServiceFactory):
    class Meta:
        model = Company

    name = factory.Faker("company")
    domain = factory.Sequence(lambda n: f"company{n}.example")
    industry = "Software"

    @staticmethod
    def _service(*, actor, data):
        return contact_services.company_create(actor=actor, data=data)


class PersonFactory(_ServiceFactory):
    class Meta:
        model = Person

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"person{n}@example.com")

    @staticmethod
    def _service(*, actor, data):
        return contact_services.person_create(actor=actor, data=data)


class PipelineFactory(_ServiceFactory):
    """A pipeline with the standard stages (Qualification ... Won, Lost) unless told."""

    class Meta:
        model = Pipeline

    name = factory.Sequence(lambda n: f"Pipeline {n}")
    stages = factory.LazyFunction(lambda: [dict(s) for s in sales_services.DEFAULT_STAGES])

    @staticmethod
    def _service(*, actor, data):
        return sales_services.pipeline_create(actor=actor, data=data)


class DealFactory(_ServiceFactory):
    """A deal in the workspace's first pipeline (the standard one is created when none)."""

    class Meta:
        model = Deal

    name = factory.Sequence(lambda n: f"Deal {n}")
    amount = factory.LazyFunction(lambda: {"amount": "1000.00", "currency": "USD"})

    @staticmethod
    def _service(*, actor, data):
        if not Pipeline.objects.in_workspace(actor.workspace).exists():
            sales_services.pipeline_create_default(actor=Actor.system(actor.workspace, "tests"))
        return sales_services.deal_create(actor=actor, data=data)

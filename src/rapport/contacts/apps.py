from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "rapport.contacts"
    label = "contacts"

    def ready(self) -> None:
        from rapport.core import targets

        # People and companies are records interactions, tasks and files link to; a person's
        # interactions roll up into their company's timeline.
        targets.register(
            "person",
            "contacts.Person",
            label="Person",
            url_name="contacts:person_detail",
            parents=lambda person: [("company", person.company_id)],
        )
        targets.register(
            "company", "contacts.Company", label="Company", url_name="contacts:company_detail"
        )
        from . import sections

        sections.register()  # key facts and related records on the record pages

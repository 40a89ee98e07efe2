from rapport.audit.events import register

CONTACT_CREATED = register("contact.created", "Person created")
CONTACT_UPDATED = register("contact.updated", "Person changed")
CONTACT_DELETED = register("contact.deleted", "Person deleted")
COMPANY_CREATED = register("company.created", "Company created")
COMPANY_UPDATED = register("company.updated", "Company changed")
COMPANY_DELETED = register("company.deleted", "Company deleted")

from rapport.audit.events import register

LEAD_CREATED = register("lead.created", "Lead created")
LEAD_UPDATED = register("lead.updated", "Lead changed")
LEAD_DELETED = register("lead.deleted", "Lead deleted")
LEAD_RESTORED = register("lead.restored", "Lead restored from the trash")
LEAD_PURGED = register("lead.purged", "Lead deleted for good (trash retention)")
LEAD_CONVERTED = register("lead.converted", "Lead converted to a person, company and deal")
LEAD_SCORING_RULE_CREATED = register("lead_scoring_rule.created", "Lead scoring rule created")
LEAD_SCORING_RULE_DELETED = register("lead_scoring_rule.deleted", "Lead scoring rule deleted")
LEAD_ASSIGNMENT_RULE_CREATED = register(
    "lead_assignment_rule.created", "Lead assignment rule created"
)
LEAD_SCORING_RULE_UPDATED = register("lead_scoring_rule.updated", "Lead scoring rule changed")
LEAD_ASSIGNMENT_RULE_UPDATED = register(
    "lead_assignment_rule.updated", "Lead assignment rule changed"
)
LEAD_ASSIGNMENT_RULE_DELETED = register(
    "lead_assignment_rule.deleted", "Lead assignment rule deleted"
)
LEAD_FORM_CREATED = register("lead_form.created", "Lead web form created")

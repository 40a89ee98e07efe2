"""Columns to fields: what an import can fill, guesses from other CRMs' export headers, and
turning one row's cells into the API-shaped data the contacts and lead services clean.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import pycountry

from rapport.contacts.models import LifecycleStage
from rapport.core.errors import FieldError, ValidationFailed
from rapport.sales.lead_models import LeadStatus


@dataclass(frozen=True)
class Target:
    key: str  # "email", "address.city", "custom.shoe_size"
    label: str
    custom_type: str = ""


_ADDRESS = [
    Target("address.street", "Street"),
    Target("address.city", "City"),
    Target("address.region", "Region / state"),
    Target("address.postal_code", "Postal code"),
    Target("address.country", "Country"),
]
_COMMON = [
    Target("phone", "Phone"),
    Target("owner", "Owner (member's email)"),
    Target("tags", "Tags (separated by ; or ,)"),
    *_ADDRESS,
    Target("external_id", "External id"),
]
PERSON_TARGETS = [
    Target("first_name", "First name"),
    Target("last_name", "Last name"),
    Target("full_name", "Full name (split into first and last)"),
    Target("email", "Email"),
    Target("title", "Job title"),
    Target("company_name", "Company name"),
    Target("company_domain", "Company domain / website"),
    Target("lifecycle_stage", "Lifecycle stage"),
    Target("source", "Source"),
    *_COMMON,
]
COMPANY_TARGETS = [
    Target("name", "Name"),
    Target("domain", "Domain / website"),
    Target("industry", "Industry"),
    Target("employees", "Employees"),
    Target("annual_revenue.amount", "Annual revenue"),
    Target("annual_revenue.currency", "Annual revenue currency"),
    *_COMMON,
]
LEAD_TARGETS = [
    Target("first_name", "First name"),
    Target("last_name", "Last name"),
    Target("full_name", "Full name (split into first and last)"),
    Target("email", "Email"),
    Target("phone", "Phone"),
    Target("company_name", "Company name"),
    Target("title", "Job title"),
    Target("country", "Country"),
    Target("source", "Source"),
    Target("status", "Status"),
    Target("disqualified_reason", "Disqualified reason"),
    Target("owner", "Owner (member's email or name)"),
    Target("tags", "Tags (separated by ; or ,)"),
]
TARGETS = {"person": PERSON_TARGETS, "company": COMPANY_TARGETS, "lead": LEAD_TARGETS}
# Each kind's model label: what its custom field definitions and audit entries name.
MODEL_LABELS = {
    "person": "contacts.person",
    "company": "contacts.company",
    "lead": "sales.lead",
}
MATCH_CHOICES = {
    "person": [("email", "Email"), ("external_id", "External id"), ("", "Nothing (always create)")],
    "company": [
        ("domain", "Domain"),
        ("external_id", "External id"),
        ("name", "Name"),
        ("", "Nothing (always create)"),
    ],
    "lead": [("email", "Email"), ("", "Nothing (always create)")],
}


def targets_for(workspace, object_type: str) -> list[Target]:
    return [*TARGETS[object_type], *_custom_targets(workspace, object_type)]


def _custom_targets(workspace, object_type: str) -> list[Target]:
    try:
        from rapport.customization.selectors import fields_for
    except ImportError:  # custom fields not installed
        return []
    return [
        Target(f"custom.{f.key}", f"{f.label} (custom)", f.type)
        for f in fields_for(workspace, MODEL_LABELS[object_type])
    ]


# --- guessing from headers ------------------------------------------------------------------

# Headers of the exports of HubSpot, Salesforce, Zoho, Pipedrive and Google Contacts (and the
# obvious plain names), normalised: lower case, letters and digits only.
_ALIASES: dict[str, list[str]] = {
    "first_name": [
        "firstname",
        "givenname",
        "personfirstname",
        "first",
        "forename",
        "prenom",
        "vorname",
    ],
    "last_name": [
        "lastname",
        "familyname",
        "surname",
        "personlastname",
        "last",
        "nom",
        "nachname",
    ],
    "full_name": ["name", "fullname", "personname", "contactname", "displayname", "contact"],
    "email": [
        "email",
        "emailaddress",
        "email1",
        "email1value",
        "personemail",
        "personemailwork",
        "primaryemail",
        "workemail",
        "mail",
        "emailaddresses",
    ],
    "phone": [
        "phone",
        "phonenumber",
        "phone1value",
        "personphone",
        "personphonework",
        "mobile",
        "mobilephone",
        "mobilephonenumber",
        "telephone",
        "workphone",
        "businessphone",
        "tel",
    ],
    "title": [
        "title",
        "jobtitle",
        "organizationtitle",
        "organization1title",
        "position",
        "role",
        "personjobtitle",
        "designation",
    ],
    "company_name": [
        "company",
        "companyname",
        "accountname",
        "organization",
        "organizationname",
        "organization1name",
        "personorganization",
        "organizationname",
        "associatedcompany",
        "employer",
    ],
    "company_domain": ["companydomain", "companydomainname", "website", "companywebsite"],
    "lifecycle_stage": ["lifecyclestage", "stage", "leadstatus", "contactstage"],
    "source": [
        "source",
        "leadsource",
        "originalsource",
        "contactsource",
        "originalsourcetype",
    ],
    "owner": [
        "owner",
        "contactowner",
        "ownerid",
        "owneremail",
        "accountowner",
        "recordowner",
        "leadowner",
        "leadowneremail",
    ],
    "tags": ["tags", "labels", "label", "tag", "groupmembership", "categories", "leadlabels"],
    # Leads' own columns (HubSpot, Salesforce, Zoho, Pipedrive lead exports).
    "status": ["status", "leadstatus", "hsleadstatus", "leadstage"],
    "disqualified_reason": [
        "disqualifiedreason",
        "disqualificationreason",
        "unqualifiedreason",
        "lostreason",
        "reason",
    ],
    "country": [
        "country",
        "countryregion",
        "countryname",
        "mailingcountry",
        "billingcountry",
        "address1country",
    ],
    "address.street": [
        "street",
        "streetaddress",
        "address",
        "mailingstreet",
        "billingstreet",
        "address1street",
        "address1formatted",
        "addressline1",
    ],
    "address.city": ["city", "mailingcity", "billingcity", "address1city", "town"],
    "address.region": [
        "region",
        "state",
        "stateregion",
        "province",
        "stateprovince",
        "mailingstate",
        "mailingstateprovince",
        "billingstate",
        "billingstateprovince",
        "address1region",
    ],
    "address.postal_code": [
        "postalcode",
        "zip",
        "zipcode",
        "postcode",
        "mailingzip",
        "mailingzippostalcode",
        "mailingpostalcode",
        "billingzip",
        "billingzippostalcode",
        "billingcode",
        "address1postalcode",
        "mailingcode",
    ],
    "address.country": [
        "country",
        "countryregion",
        "mailingcountry",
        "billingcountry",
        "address1country",
    ],
    "external_id": [
        "externalid",
        "id",
        "recordid",
        "contactid",
        "accountid",
        "leadid",
        "hubspotid",
        "recordidcontact",
        "personid",
        "organizationid",
        "recordidcompany",
    ],
    "name": [
        "name",
        "companyname",
        "accountname",
        "organizationname",
        "organization",
        "company",
    ],
    "domain": ["domain", "companydomainname", "website", "websiteurl", "domainname", "url"],
    "industry": ["industry", "sector"],
    "employees": [
        "employees",
        "numberofemployees",
        "employeecount",
        "noofemployees",
        "headcount",
    ],
    "annual_revenue.amount": ["annualrevenue", "revenue"],
    "annual_revenue.currency": ["currency", "annualrevenuecurrency", "currencycode"],
}


def normalise_header(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def guess(headers: list[str], targets: list[Target], saved: dict[str, str] | None = None) -> dict:
    """{column index as text: target key}: a saved template first, then known header names.
    Each target is used once; the leftmost column wins."""
    keys = {t.key for t in targets}
    by_alias: dict[str, str] = {}
    for target in targets:
        for alias in _ALIASES.get(target.key, []):
            by_alias.setdefault(alias, target.key)
        by_alias.setdefault(normalise_header(target.key), target.key)
        by_alias.setdefault(normalise_header(target.label), target.key)
        if target.key.startswith("custom."):
            by_alias.setdefault(normalise_header(target.key[7:]), target.key)
            by_alias.setdefault(
                normalise_header(target.label.removesuffix(" (custom)")), target.key
            )
    saved_norm = {normalise_header(h): t for h, t in (saved or {}).items() if t in keys}
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for index, header in enumerate(headers):
        norm = normalise_header(header)
        key = saved_norm.get(norm) or by_alias.get(norm)
        if key and key not in used:
            mapping[str(index)] = key
            used.add(key)
    # A "Name" column is a full name only when no first/last name columns were found.
    if "full_name" in used and ({"first_name", "last_name"} & used):
        mapping = {k: v for k, v in mapping.items() if v != "full_name"}
    return mapping


# --- one row to data ------------------------------------------------------------------------


@dataclass
class Converted:
    data: dict[str, Any]
    errors: list[FieldError]
    column_of: dict[str, int]  # field name (as services report it) -> column index


_STAGES = (
    {normalise_header(v): v for v, _ in LifecycleStage.choices}
    | {normalise_header(label): v for v, label in LifecycleStage.choices}
    | {
        "marketingqualifiedlead": "marketing_qualified",
        "mql": "marketing_qualified",
        "salesqualifiedlead": "sales_qualified",
        "sql": "sales_qualified",
    }
)


# Lead statuses as other CRMs name them (HubSpot's lead status, Salesforce's and Zoho's lead
# status picklists). An unknown status is passed on as written, for the service to refuse.
_LEAD_STATUSES = (
    {normalise_header(v): v for v, _ in LeadStatus.choices}
    | {normalise_header(label): v for v, label in LeadStatus.choices}
    | dict.fromkeys(("open", "opennotcontacted", "notcontacted"), "new")
    | dict.fromkeys(
        (
            "inprogress",
            "workingcontacted",
            "attemptedtocontact",
            "attemptedcontact",
            "connected",
            "contacted",
            "openlead",
        ),
        "working",
    )
    | dict.fromkeys(("contactinfuture", "badtiming", "nurture"), "nurturing")
    | dict.fromkeys(("prequalified", "salesqualified", "sql", "opendeal"), "qualified")
    | dict.fromkeys(
        ("unqualified", "notqualified", "junklead", "lostlead", "closednotconverted"),
        "disqualified",
    )
)


def _lead_status(raw: str, data: dict[str, Any]) -> None:
    status = _LEAD_STATUSES.get(normalise_header(raw), raw)
    data["status"] = status
    # "Junk Lead", "Lost Lead": the other CRM's status says why; a disqualified lead needs a
    # reason, and a reason column of the file (converted after or before) takes precedence.
    if status == "disqualified" and normalise_header(raw) != "disqualified":
        data.setdefault("_status_reason", raw)


def convert(
    cells: list[str],
    mapping: dict[str, str],
    *,
    members: dict[str, Any],
    custom_types: dict[str, Any],
) -> Converted:
    """The API-shaped data for one row. ``members`` maps lower-case emails (and names) to user ids;
    ``custom_types`` maps custom field keys to their type objects (for ``parse_text``)."""
    data: dict[str, Any] = {}
    errors: list[FieldError] = []
    column_of: dict[str, int] = {}
    for index_text, target in mapping.items():
        index = int(index_text)
        raw = cells[index].strip() if index < len(cells) else ""
        if "\ufffd" in raw:
            errors.append(
                FieldError(target, "Holds bytes that are not text in the file's encoding.")
            )
            continue
        column_of[target] = index
        if target.startswith("address."):
            column_of[target] = index
            data.setdefault("address", {})[target[8:]] = (
                _country(raw) if target.endswith("country") else raw
            )
        elif target.startswith("annual_revenue."):
            money = data.setdefault("annual_revenue", {})
            money[target[15:]] = raw.replace(",", "") if target.endswith("amount") else raw
        elif target.startswith("custom."):
            key = target[7:]
            if raw == "":
                continue
            kind = custom_types.get(key)
            try:
                value = kind.parse_text(raw) if kind is not None else raw
            except ValidationFailed as exc:  # the type says what it expected
                errors.append(
                    FieldError(target, exc.errors[0].message if exc.errors else exc.detail)
                )
                continue
            data.setdefault("custom", {})[key] = value
        elif target == "tags":
            data["tags"] = [t.strip() for t in re.split(r"[;,]", raw) if t.strip()]
        elif target == "owner":
            if raw:
                user_id = members.get(" ".join(raw.lower().split()))
                if user_id is None:
                    errors.append(
                        FieldError("owner", f"No member of this workspace has the email {raw}.")
                        if "@" in raw
                        else FieldError("owner", f"No member of this workspace is named {raw}.")
                    )
                else:
                    data["owner"] = user_id
        elif target == "lifecycle_stage":
            if raw:
                data["lifecycle_stage"] = _STAGES.get(normalise_header(raw), raw)
        elif target == "status":
            if raw:
                _lead_status(raw, data)
        elif target == "country":
            data["country"] = _country(raw) if raw else ""
        elif target == "employees":
            data["employees"] = re.sub(r"[\s,._']", "", raw) or None
            if data["employees"] is not None:
                try:
                    data["employees"] = int(data["employees"])
                except ValueError:
                    errors.append(FieldError("employees", "Must be a whole number."))
                    data.pop("employees")
        elif target == "full_name":
            first, _, last = raw.rpartition(" ") if " " in raw else ("", "", raw)
            data.setdefault("_full", (first.strip(), last.strip()))
        else:
            data[target] = raw
    reason = data.pop("_status_reason", None)
    if reason and not data.get("disqualified_reason"):
        data["disqualified_reason"] = reason
    full = data.pop("_full", None)
    if full:
        first, last = full
        if not data.get("first_name") and not data.get("last_name"):
            data["first_name"], data["last_name"] = first, last
            column_of.setdefault("first_name", column_of.get("full_name", 0))
    if "annual_revenue" in data and not data["annual_revenue"].get("amount"):
        data.pop("annual_revenue")
    return Converted(data, errors, column_of)


@functools.lru_cache(maxsize=1024)
def _country(raw: str) -> str:
    """ISO codes pass through; country names ("Germany", "United States") become codes."""
    if len(raw) <= 3:
        return raw
    try:
        return pycountry.countries.lookup(raw).alpha_2
    except LookupError:
        try:
            return pycountry.countries.search_fuzzy(raw)[0].alpha_2
        except LookupError:
            return raw


def column_for(field_name: str, column_of: dict[str, int]) -> int | None:
    """The column a service's error field came from ("address.city", "custom.x", "company")."""
    if field_name in column_of:
        return column_of[field_name]
    if field_name == "company":
        return column_of.get("company_domain", column_of.get("company_name"))
    if field_name.startswith("annual_revenue"):
        return column_of.get("annual_revenue.amount")
    return None

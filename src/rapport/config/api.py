"""The NinjaAPI instance at /api/v1: wiring of routers, auth, errors and rate limits only."""

from django.conf import settings
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.renderers import BaseRenderer

from rapport.core.api import TokenAuth, TokenRateThrottle, validation_problem
from rapport.core.errors import DomainError, Duplicate, VersionConflict
from rapport.core.problem import problem_response
from rapport.customization.openapi import add_custom_fields, token_workspace


class ORJSONRenderer(BaseRenderer):
    media_type = "application/json"

    def render(self, request, data, *, response_status):
        import orjson

        return orjson.dumps(data)


PROBLEM_REF = "#/components/schemas/Problem"


class RapportAPI(NinjaAPI):
    """Ninja documents every response as application/json; error answers are
    application/problem+json (RFC 9457), so the document says so (clients and schema-driven
    tools check the media type)."""

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                for answer in operation.get("responses", {}).values():
                    content = answer.get("content", {})
                    body = content.get("application/json", {})
                    if body.get("schema", {}).get("$ref") == PROBLEM_REF:
                        content["application/problem+json"] = content.pop("application/json")
        # Fetched with a token: `custom` typed with that workspace's custom fields.
        return add_custom_fields(schema)


api = RapportAPI(
    title="Rapport API",
    version="1",
    description=(
        "The Rapport CRM REST API. Authenticate with `Authorization: Bearer <token>` "
        "(create tokens in Settings → API tokens or with `rapport token create`). Lists take "
        "`limit` (max 500) and `cursor`; errors are `application/problem+json` (RFC 9457)."
    ),
    auth=TokenAuth(),
    renderer=ORJSONRenderer(),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    throttle=[TokenRateThrottle(settings.API_RATE_LIMIT)],
    docs_decorator=token_workspace,
)


@api.exception_handler(DomainError)
def _domain_error(request, exc: DomainError):
    extra: dict[str, object] = {}
    if isinstance(exc, Duplicate):
        extra["existing_id"] = exc.existing_id
    if isinstance(exc, VersionConflict):
        extra["current_version"] = exc.current_version
    return problem_response(exc.status, exc.title, exc.detail, exc.errors, **extra)


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    return validation_problem(exc.errors)


@api.exception_handler(AuthenticationError)
def _auth_error(request, exc):
    response = problem_response(
        401, "Unauthenticated", "Send a valid API token: Authorization: Bearer <token>."
    )
    response["WWW-Authenticate"] = 'Bearer realm="rapport"'
    return response


@api.exception_handler(Throttled)
def _throttled(request, exc: Throttled):
    response = problem_response(
        429, "Too many requests", f"Rate limit exceeded; retry in {int(exc.wait or 1)} s."
    )
    return response


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    titles = {400: "Malformed request", 405: "Method not allowed", 413: "Request body too large"}
    return problem_response(exc.status_code, titles.get(exc.status_code, "Error"), str(exc))


@api.exception_handler(Http404)
def _not_found(request, exc):
    return problem_response(404, "Not found", "No such record.")


def _register_routers() -> None:
    from rapport.activities.api import activities_router, ingest_router, tasks_router
    from rapport.attachments.api import router as attachments_router
    from rapport.audit.api import router as audit_router
    from rapport.contacts.api import companies_router, contacts_router, trash_router
    from rapport.contacts.dedupe_api import router as duplicates_router
    from rapport.customization.api import router as custom_fields_router
    from rapport.customization.views_api import router as saved_views_router
    from rapport.imports.api import bulk_router, exports_router, imports_router
    from rapport.notifications.api import router as notifications_router
    from rapport.sales.api import (
        deals_router,
        exchange_rates_router,
        lost_reasons_router,
        pipelines_router,
    )
    from rapport.sales.forecast_api import forecast_router, quotas_router
    from rapport.sales.lead_api import leads_router
    from rapport.sales.lead_rule_api import assignment_rules_router, scoring_rules_router
    from rapport.sales.quote_api import line_items_router, products_router, quotes_router
    from rapport.search.api import router as search_router

    api.add_router("/contacts", contacts_router)
    api.add_router("/companies", companies_router)
    api.add_router("/trash", trash_router)
    api.add_router("/duplicates", duplicates_router)
    api.add_router("/search", search_router)
    api.add_router("/imports", imports_router)
    api.add_router("/exports", exports_router)
    api.add_router("/bulk", bulk_router)
    api.add_router("/audit", audit_router)
    api.add_router("/custom-fields", custom_fields_router)
    api.add_router("/views", saved_views_router)
    # (ingest before /activities: its fixed path must win over /activities/{id})
    api.add_router("/activities/ingest", ingest_router)
    api.add_router("/activities", activities_router)
    api.add_router("/tasks", tasks_router)
    api.add_router("/notifications", notifications_router)
    api.add_router("/attachments", attachments_router)
    api.add_router("/pipelines", pipelines_router)
    api.add_router("/deals", deals_router)
    api.add_router("/deals", line_items_router)  # /deals/{id}/line-items
    api.add_router("/leads", leads_router)
    api.add_router("/lead-scoring-rules", scoring_rules_router)
    api.add_router("/lead-assignment-rules", assignment_rules_router)
    api.add_router("/products", products_router)
    api.add_router("/quotes", quotes_router)
    api.add_router("/lost-reasons", lost_reasons_router)
    api.add_router("/exchange-rates", exchange_rates_router)
    api.add_router("/forecast", forecast_router)
    api.add_router("/quotas", quotas_router)


_register_routers()

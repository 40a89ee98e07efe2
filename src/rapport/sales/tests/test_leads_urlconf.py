"""A URL configuration for the lead tests that works before and after the leads are wired
into ``config/api.py`` and ``sales/urls.py``: the lead API under /api/v1/leads and the lead
pages in the "sales" namespace, everything else as in the real configuration.

Use with ``@pytest.mark.urls("rapport.sales.tests.test_leads_urlconf")``.
"""

from django.urls import URLResolver, include, path

from rapport.config.api import ORJSONRenderer, RapportAPI
from rapport.config.api import api as main_api
from rapport.config.urls import urlpatterns as main_urlpatterns
from rapport.core.api import TokenAuth
from rapport.sales import urls as sales_urls
from rapport.sales.lead_api import leads_router
from rapport.sales.lead_views import urlpatterns as lead_urls

leads_api = RapportAPI(
    title="Rapport API (lead tests)",
    version="1-leads-tests",
    auth=TokenAuth(),
    renderer=ORJSONRenderer(),
    urls_namespace="leads_tests_api",
    docs_url=None,
)
leads_api._exception_handlers.update(main_api._exception_handlers)
leads_api.add_router("/leads", leads_router)


def _is_sales(p) -> bool:
    return isinstance(p, URLResolver) and getattr(p, "app_name", "") == "sales"


urlpatterns = [
    path("api/v1/", leads_api.urls),
    *[p for p in main_urlpatterns if not _is_sales(p)],
    path("", include(([*lead_urls, *sales_urls.urlpatterns], "sales"))),
]

"""A URL configuration for the product and quote tests until the lead wires the pages and the
routers into ``sales/urls.py`` and ``config/api.py``; once wired, it is the project's own."""

from django.urls import include, path

from rapport.config import urls as root
from rapport.config.api import ORJSONRenderer, RapportAPI
from rapport.config.api import api as project_api
from rapport.core.api import TokenAuth
from rapport.sales import urls as sales_urls
from rapport.sales.quote_api import line_items_router, products_router, quotes_router
from rapport.sales.quote_views import urlpatterns as quote_urls


def _wired() -> bool:
    return any(router is products_router for _, router in project_api._routers)


def _patterns() -> list:
    patterns: list = []
    if not _wired():
        test_api = RapportAPI(
            title="Rapport API (quotes tests)",
            version="test",
            auth=TokenAuth(),
            renderer=ORJSONRenderer(),
            urls_namespace="quotes_test_api",
        )
        test_api._exception_handlers.update(project_api._exception_handlers)
        test_api.add_router("/products", products_router)
        test_api.add_router("/quotes", quotes_router)
        test_api.add_router("/deals", line_items_router)
        patterns.append(path("api/v1/", test_api.urls))
    names = {p.name for p in sales_urls.urlpatterns}
    if "quote_detail" not in names:
        patterns.append(path("", include(([*quote_urls, *sales_urls.urlpatterns], "sales"))))
    return [*patterns, *root.urlpatterns]


urlpatterns = _patterns()

"""The sales pages: deals (board, table, record), leads, products and quotes, sales settings,
forecasts and the dashboard."""

from .board_views import urlpatterns as board_urls
from .deal_views import urlpatterns as deal_urls
from .forecast_views import urlpatterns as forecast_urls
from .lead_rule_views import urlpatterns as lead_rule_urls
from .lead_views import urlpatterns as lead_urls
from .quote_views import urlpatterns as quote_urls
from .settings_views import urlpatterns as settings_urls

app_name = "sales"
urlpatterns = [*board_urls, *deal_urls, *settings_urls, *forecast_urls, *quote_urls, *lead_urls]
urlpatterns += lead_rule_urls

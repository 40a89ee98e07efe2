"""The sales pages: the board and table of deals, deal pages, sales settings, forecasts."""

from .board_views import urlpatterns as board_urls
from .deal_views import urlpatterns as deal_urls
from .forecast_views import urlpatterns as forecast_urls
from .settings_views import urlpatterns as settings_urls

app_name = "sales"
urlpatterns = [*board_urls, *deal_urls, *settings_urls, *forecast_urls]

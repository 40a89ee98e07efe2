from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "rapport.sales"
    label = "sales"

    def ready(self) -> None:
        from rapport.core import targets

        from . import services

        # Interactions, tasks and files link to deals; a deal's interactions also show on
        # its company's timeline, and each one keeps the deal's last-interaction time.
        targets.register(
            "deal",
            "sales.Deal",
            label="Deal",
            url_name="sales:deal_detail",
            parents=lambda deal: [("company", deal.company_id)],
            on_interaction=services.deals_touch_interaction,
        )
        from . import (
            lead_services,
            merging,  # noqa: F401  (deals follow merged people and companies)
            sections,  # noqa: F401  (deal pages; deals on person and company pages)
        )

        lead_services.register()  # leads are targets too: interactions and tasks link to them

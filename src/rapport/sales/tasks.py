"""Celery tasks of the sales app (found by autodiscovery through this module)."""

from .lead_tasks import rescore_leads

__all__ = ["rescore_leads"]

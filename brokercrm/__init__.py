"""brokercrm: back office for multi-entity forex brokers."""

from .celery import app as celery_app

__all__ = ["celery_app"]

"""The Linli Django project and its domain apps."""

from backend.celery import app as celery_app

__all__ = ["celery_app"]

"""The web application: FastAPI over the services, Jinja2 pages in the NHS.UK design system, htmx, a JSON API."""

from outturn.web.app import create_app
from outturn.web.config import WebConfig

__all__ = ["WebConfig", "create_app"]

"""The press-desk web app (FastAPI + Jinja2 + htmx). Build it with `create_app`."""

from responders.web.app import create_app

__all__ = ["create_app"]

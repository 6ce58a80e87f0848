"""The API documentation, Swagger UI at ``/docs`` and ReDoc at ``/redoc``, drawn with the application's own copies
of their scripts (``static/vendor``, see VENDORED.md): no CDN, and nothing the Content-Security-Policy refuses.

FastAPI's ``get_swagger_ui_html`` starts Swagger UI with an inline script, which the policy (``script-src 'self'``)
blocks, so the page here loads ``static/outturn/api-docs.js`` instead. ReDoc's search runs in a worker made from a
``blob:`` address, which the policy also blocks: the page turns search off.
"""

from __future__ import annotations

from html import escape

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

SWAGGER_JS = "/static/vendor/swagger-ui/swagger-ui-bundle.js"
SWAGGER_CSS = "/static/vendor/swagger-ui/swagger-ui.css"
SWAGGER_START = "/static/outturn/api-docs.js"
REDOC_JS = "/static/vendor/redoc/redoc.standalone.js"
FAVICON = "/static/vendor/nhsuk/assets/images/favicon.ico"


def _page(title: str, head: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="icon" href="{FAVICON}">
{head}
</head>
<body>
{body}
</body>
</html>
"""
    )


def swagger_ui_page(title: str, openapi_url: str) -> HTMLResponse:
    return _page(
        f"{title} - API",
        f'<link rel="stylesheet" href="{SWAGGER_CSS}">',
        f'<div id="swagger-ui" data-openapi-url="{escape(openapi_url)}"></div>\n'
        f'<script src="{SWAGGER_JS}"></script>\n<script src="{SWAGGER_START}"></script>',
    )


def redoc_page(title: str, openapi_url: str) -> HTMLResponse:
    return _page(
        f"{title} - API",
        "<style>body { margin: 0; padding: 0; }</style>",
        f'<redoc spec-url="{escape(openapi_url)}" disable-search></redoc>\n<script src="{REDOC_JS}"></script>',
    )


def install_docs(app: FastAPI) -> None:
    """Serve the two documentation pages (create the app with ``docs_url=None, redoc_url=None``)."""
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return swagger_ui_page(app.title, openapi_url)

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return redoc_page(app.title, openapi_url)

"""`/api/docs`: Swagger UI served from the swagger-ui-bundle-v2 package, under the desk's
own Content-Security-Policy — nothing from a CDN (the desk may run with no internet, and
FastAPI's default page loads its scripts from one, which the CSP blocks: a blank page).

FastAPI's page also starts Swagger UI with an inline <script>, which the CSP forbids
(script-src 'self'); here the page is plain HTML and the start is a file of our own,
`static/api-docs.js`.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/api/docs/assets"

_PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>yuqing press desk — API</title>
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi="/api/v1/openapi.json"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


def mount_api_docs(app: FastAPI) -> None:
    """The docs page and its assets (the app is made with docs_url=None)."""
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="api-docs-assets")

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(_PAGE)

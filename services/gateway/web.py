"""HTTP plumbing for the gateway: error mapping and JSON responses.

nameko's default error response leaks the exception text (even for a 500); here a
domain error becomes its status and a short JSON body, anything unexpected a
generic 500 (logged with its traceback, never sent), and werkzeug's own HTTP
errors (404, 405, 413, ...) keep their status with the same JSON shape.
"""
from __future__ import annotations

import json
import logging

from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from services.gateway import pages
from shared.errors import DomainError
from shared.settings import container_settings

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")
    response.headers.update(SECURITY_HEADERS)
    response.headers.update(headers or {})
    return response


def error_response(exc: BaseException) -> Response:
    if isinstance(exc, DomainError):
        return json_response(exc.to_dict(), exc.status, getattr(exc, "headers", None))
    if isinstance(exc, HTTPException) and exc.code and exc.code < 500:
        code = (exc.name or "error").lower().replace(" ", "_")
        headers = {"Allow": ", ".join(exc.valid_methods)} if getattr(exc, "valid_methods", None) else {}
        return json_response({"error": code, "message": exc.description or exc.name}, exc.code, headers)
    log.error("unexpected error while handling a request", exc_info=exc)
    return json_response({"error": "internal_error", "message": "internal error; please try again later"}, 500)


def error_page(exc: BaseException, settings) -> Response:
    """The same mapping as ``error_response``, as a page for people."""
    if isinstance(exc, DomainError):
        status, message = exc.status, exc.message
    elif isinstance(exc, HTTPException) and exc.code and exc.code < 500:
        status, message = exc.code, PAGE_MESSAGES.get(exc.code, "Deze vraag kon niet verwerkt worden.")
    else:
        log.error("unexpected error while rendering a page", exc_info=exc)
        status, message = 500, "Er ging iets mis aan onze kant. Probeer het later opnieuw."
    return pages.render(None, settings, "error.html", status=status, message=message)


PAGE_MESSAGES = {
    404: "Deze pagina bestaat niet.",
    405: "Deze pagina kan zo niet gebruikt worden.",
    413: "Dit is te groot.",
}


class _App(WsgiApp):
    """nameko's WSGI app, with our error bodies for unknown routes and wrong methods:
    JSON under /api, a page elsewhere."""

    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
        except HTTPException as exc:
            if request.path.startswith("/api/"):
                return error_response(exc)(environ, start_response)
            return error_page(exc, container_settings(self.server.container))(environ, start_response)
        request.path_values = values
        return provider.handle_request(request)(environ, start_response)


class _Server(WebServer):
    def get_wsgi_app(self):
        return _App(self)


class Http(HttpRequestHandler):
    """``@http(method, url)`` for the API (JSON errors), ``page=True`` for the portal."""

    server = _Server()

    def __init__(self, method, url, page=False, **kwargs):
        self.page = page
        kwargs.setdefault("expected_exceptions", DomainError)  # a 4xx, logged as a warning
        super().__init__(method, url, **kwargs)

    def response_from_exception(self, exc):
        if self.page:
            return error_page(exc, container_settings(self.container))
        return error_response(exc)


http = Http.decorator

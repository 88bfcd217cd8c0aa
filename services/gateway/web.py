"""HTTP plumbing for the gateway: the WSGI app in front of the workers, error mapping,
JSON responses.

nameko's default error response leaks the exception text (even for a 500); here a
domain error becomes its status and a short JSON body, anything unexpected a
generic 500 (logged with its traceback, never sent), and werkzeug's own HTTP
errors (404, 405, 413, ...) keep their status with the same JSON shape.

nameko's web server runs the WSGI app in a green thread per connection and takes a
worker from the pool (``max_workers``) only in ``handle_request``.  The app answers
``/healthz`` itself and reads portal bodies (services.gateway.bodies) before that, so
neither waits for a worker and a slow body never holds one.  A connection whose body was
left unread (refused) is closed after the answer, instead of eventlet draining the body
to keep the connection alive.  Every socket read or write waits at most
REQUEST_IDLE_SECONDS: a stalled upload or an idle connection ends there.
"""
from __future__ import annotations

import json
import logging

from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import HttpOnlyProtocol, WebServer, WsgiApp
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.wrappers import Request, Response

from services.gateway import bodies, pages
from services.gateway.errors import OUR_FAULT, PAGE_MESSAGES, UNCLEAR, status_of
from shared.errors import DomainError
from shared.settings import UsesSettings

CLOSE_CONNECTION = "energiepost.close_connection"
DRAIN_BYTES = 1024 * 1024  # the most of an early-answered API body read after the answer (_worth_draining)

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
    """An error of the API as JSON: a domain error's code and message, werkzeug's own errors
    in the same shape, anything unexpected a generic 500 (logged, never sent)."""
    status = status_of(exc)
    if isinstance(exc, DomainError):
        return json_response(exc.to_dict(), status, getattr(exc, "headers", None))
    if status < 500:
        code = (exc.name or "error").lower().replace(" ", "_")
        headers = {"Allow": ", ".join(exc.valid_methods)} if getattr(exc, "valid_methods", None) else {}
        return json_response({"error": code, "message": exc.description or exc.name}, status, headers)
    log.error("unexpected error while handling a request", exc_info=exc)
    return json_response({"error": "internal_error", "message": "internal error; please try again later"}, 500)


def error_page(exc: BaseException, settings) -> Response:
    """The same, as a page for people."""
    status = status_of(exc)
    if isinstance(exc, DomainError):
        message = exc.message
    elif status < 500:
        message = PAGE_MESSAGES.get(status, UNCLEAR)
    else:
        log.error("unexpected error while rendering a page", exc_info=exc)
        status, message = 500, OUR_FAULT
    return pages.render(None, settings, "error.html", status=status, message=message)


def health(request) -> Response:
    if request.method not in ("GET", "HEAD"):
        return error_response(MethodNotAllowed(["GET", "HEAD"]))
    return json_response({"status": "ok"})


class _App(WsgiApp):
    """nameko's WSGI app: ``/healthz`` and the portal's bodies before any worker, and our
    error bodies for unknown routes and wrong methods: JSON under /api, a page elsewhere."""

    def __init__(self, server):
        super().__init__(server)
        self.settings = server.settings
        self.csrf_cookie = pages.cookie_name(pages.CSRF, self.settings)

    def __call__(self, environ, start_response):
        response = self._respond(environ)
        if _body_left_unread(environ) and not _worth_draining(environ):
            environ[CLOSE_CONNECTION]()
        return response(environ, start_response)

    def _respond(self, environ):
        api = environ.get("PATH_INFO", "").startswith("/api/")
        try:
            if environ.get("PATH_INFO") == "/healthz":
                return health(Request(environ, shallow=True))
            provider, values = self.url_map.bind_to_environ(environ).match()
            if not api:
                bodies.read_portal_body(environ, csrf_cookie=self.csrf_cookie,
                                        seconds=self.settings.portal_body_seconds)
        except (HTTPException, DomainError) as exc:
            return error_response(exc) if api else error_page(exc, self.settings)
        request = Request(environ, shallow=True)
        request.path_values = values
        return provider.handle_request(request)


def _body_left_unread(environ) -> bool:
    """eventlet's own test for draining the body before the next request on the connection."""
    body = environ["eventlet.input"]
    return body.chunked_input or body.position < (body.content_length or 0)


def _worth_draining(environ) -> bool:
    """A small rest of an API body answered early (401, 404, 409…): eventlet reads it after the
    answer, keeping the connection, so a proxy that streams the body to us (the edge's ingest
    location) gets the answer rather than a reset and its own 502.  A portal body, a chunked one
    or a larger rest is never waited for: the connection closes after the answer."""
    body = environ["eventlet.input"]
    return (environ.get("PATH_INFO", "").startswith("/api/") and not body.chunked_input
            and (body.content_length or 0) - body.position <= DRAIN_BYTES)


class _Protocol(HttpOnlyProtocol):
    """nameko's protocol, letting the app close the connection after its answer."""

    def get_environ(self):
        environ = super().get_environ()
        environ[CLOSE_CONNECTION] = self._close_after_response
        return environ

    def _close_after_response(self):
        self.close_connection = 1


class _Server(UsesSettings, WebServer):
    def get_wsgi_app(self):
        return _App(self)

    def get_wsgi_server(self, sock, wsgi_app, protocol=_Protocol, debug=False):
        server = super().get_wsgi_server(sock, wsgi_app, protocol=protocol, debug=debug)
        server.socket_timeout = self.settings.request_idle_seconds
        return server


class Http(UsesSettings, HttpRequestHandler):
    """``@http(method, url)`` for the API (JSON errors), ``page=True`` for the portal."""

    server = _Server()

    def __init__(self, method, url, page=False, **kwargs):
        self.page = page
        kwargs.setdefault("expected_exceptions", DomainError)  # a 4xx, logged as a warning
        super().__init__(method, url, **kwargs)

    def response_from_exception(self, exc):
        if self.page:
            return error_page(exc, self.settings)
        return error_response(exc)


http = Http.decorator

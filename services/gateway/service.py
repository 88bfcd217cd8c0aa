"""gateway: the HTTP front door — the managers' portal, the upstream ingest API, health."""
import logging
import mimetypes
from pathlib import Path

from nameko.rpc import rpc
from nameko.timer import timer
from werkzeug.wrappers import Response

from services.gateway import ingest, openapi, pages
from services.gateway.account import AccountPages
from services.gateway.dependencies import CsrfProtection, IngestKeys
from services.gateway.portal import Portal
from services.gateway.settings import GatewaySettings
from services.gateway.web import http, json_response
from shared import correlation
from shared.blobs import Blobs
from shared.correlation import Correlation
from shared.errors import NotFound
from shared.health import OK, answer_check, blob_store_check, broker_answered, broker_check, run_checks
from shared.metrics import Metrics
from shared.rpc import DeadlineRpcProxy
from shared.settings import Settings

# files re-reads the staged blob to verify it, then adopts it (on S3 a server-side copy):
# allow for a 2 GiB file on a slow disk or store.
PUBLISH_TIMEOUT_SECONDS = 300
# /readyz waits this long for the broker and for each round trip (a probe must answer quickly).
READY_TIMEOUT_SECONDS = 3
STATIC = Path(__file__).parent / "static"
STATIC_FILES = {path.name for path in STATIC.iterdir()}

log = logging.getLogger(__name__)


class GatewayService:
    name = "gateway"
    correlation = Correlation()
    metrics = Metrics()

    settings = Settings(GatewaySettings)
    blobs = Blobs()
    ingest_keys = IngestKeys()
    csrf = CsrfProtection()
    auth = DeadlineRpcProxy("auth")
    files = DeadlineRpcProxy("files")
    files_publish = DeadlineRpcProxy("files", timeout=PUBLISH_TIMEOUT_SECONDS)
    auth_probe = DeadlineRpcProxy("auth", timeout=READY_TIMEOUT_SECONDS)
    files_probe = DeadlineRpcProxy("files", timeout=READY_TIMEOUT_SECONDS)

    def _portal(self, request, pages_class=Portal):
        if request.method == "POST":
            self.csrf.check(request)  # every form of the portal, before its handler runs
        return pages_class(request, settings=self.settings, csrf=self.csrf, auth=self.auth, files=self.files,
                           blobs=self.blobs)

    def _account(self, request):
        return self._portal(request, AccountPages)

    # --- the managers' portal -------------------------------------------------------------

    @http("GET", "/", page=True)
    def home(self, request):
        return pages.redirect("/files", self.settings)

    @http("GET", "/login", page=True)
    def login_form(self, request):
        return self._portal(request).login_form()

    @http("POST", "/login", page=True)
    def login(self, request):
        return self._portal(request).login()

    @http("GET", "/password/new", page=True)
    def choose_password_form(self, request):
        return self._portal(request).choose_password_form()

    @http("POST", "/password/new", page=True)
    def choose_password(self, request):
        return self._portal(request).choose_password()

    @http("GET", "/code", page=True)
    def code_form(self, request):
        return self._portal(request).code_form()

    @http("POST", "/code", page=True)
    def verify_code(self, request):
        return self._portal(request).verify_code()

    @http("POST", "/code/resend", page=True)
    def resend_code(self, request):
        return self._portal(request).resend_code()

    @http("POST", "/code/app", page=True)
    def use_app(self, request):
        return self._portal(request).use_app()

    @http("POST", "/logout", page=True)
    def logout(self, request):
        return self._portal(request).logout()

    @http("GET", "/forgot", page=True)
    def forgot_form(self, request):
        return self._portal(request).forgot_form()

    @http("POST", "/forgot", page=True)
    def forgot(self, request):
        return self._portal(request).forgot()

    @http("GET", "/reset", page=True)
    def reset_form(self, request):
        return self._portal(request).reset_form()

    @http("POST", "/reset", page=True)
    def reset(self, request):
        return self._portal(request).reset()

    @http("GET", "/files", page=True)
    def file_list(self, request):
        return self._portal(request).file_list()

    @http("GET", "/files/<file_id>", page=True)
    def file_link(self, request, file_id):
        return self._portal(request).file_link(file_id)

    @http("POST", "/files/download", page=True)
    def download(self, request):
        return self._portal(request).download()

    @http("POST", "/files/delete", page=True)
    def confirm_delete(self, request):
        return self._portal(request).confirm_delete()

    @http("POST", "/files/delete/confirm", page=True)
    def delete(self, request):
        return self._portal(request).delete()

    @http("GET", "/account", page=True)
    def account(self, request):
        return self._account(request).overview()

    @http("POST", "/account/sessions/end", page=True)
    def end_sessions(self, request):
        return self._account(request).end_sessions()

    @http("GET", "/account/password", page=True)
    def change_password_form(self, request):
        return self._account(request).password_form()

    @http("POST", "/account/password", page=True)
    def change_password(self, request):
        return self._account(request).change_password()

    @http("GET", "/account/app", page=True)
    def app_form(self, request):
        return self._account(request).app_form()

    @http("POST", "/account/app", page=True)
    def start_app(self, request):
        return self._account(request).start_app()

    @http("POST", "/account/app/confirm", page=True)
    def confirm_app(self, request):
        return self._account(request).confirm_app()

    @http("POST", "/account/app/remove", page=True)
    def remove_app(self, request):
        return self._account(request).remove_app()

    @http("GET", "/help", page=True)
    def help(self, request):
        return self._portal(request).help()

    @http("GET", "/static/<name>", page=True)
    def static(self, request, name):
        if name not in STATIC_FILES:
            raise NotFound("Deze pagina bestaat niet.")
        response = Response((STATIC / name).read_bytes(), mimetype=mimetypes.guess_type(name)[0])
        response.headers["Cache-Control"] = "public, max-age=3600"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    # --- upstream systems -----------------------------------------------------------------

    # /healthz (liveness) is answered by the WSGI app itself, without a worker (services.gateway.web)

    @http("GET", "/readyz")
    def readyz(self, request):
        """Readiness: the broker answers, and auth and files answer their health RPC with ok."""
        answer = run_checks(self.name, {
            "broker": broker_check(self.settings.amqp_uri, READY_TIMEOUT_SECONDS),
            "auth": answer_check(self.auth_probe.health),
            "files": answer_check(self.files_probe.health),
        })
        return json_response(answer, 200 if answer["status"] == OK else 503)

    @rpc
    def health(self):
        """What ``energiepost health gateway`` (the compose healthcheck) asks."""
        return run_checks(self.name, {"broker": broker_answered, "blob_store": blob_store_check(self.blobs)})

    @http("GET", "/api/v1/openapi.json")
    def openapi_document(self, request):
        return json_response(
            openapi.document(
                public_base_url=self.settings.public_base_url,
                max_upload_bytes=self.settings.max_upload_bytes,
                retention_days=self.settings.retention_days,
            )
        )

    @http("POST", "/api/v1/communities/<community_id>/files")
    def ingest_file(self, request, community_id):
        self.ingest_keys.check(request.headers.get("Authorization"))
        idempotency_key = ingest.idempotency_key(request)
        self.auth.get_community(community_id)  # 404 before a byte of the body is read
        upload = ingest.receive_upload(request, blobs=self.blobs, max_bytes=self.settings.max_upload_bytes)
        file = self.files_publish.publish_file(
            request_id=idempotency_key,
            community_id=community_id,
            blob_key=upload.blob.key,
            name=upload.filename,
            size=upload.blob.size,
            sha256=upload.blob.sha256,
            kind=upload.kind,
            shared_by=upload.shared_by,
        )
        log.info("ingest: %d bytes for %s published as file %s", upload.blob.size, community_id, file["id"])
        response = json_response({key: file[key] for key in ingest.PUBLISHED_FIELDS}, 201)
        response.headers[correlation.HEADER] = correlation.current()  # to find this publish in the logs
        return response

    @http("GET", "/api/v1/files/<file_id>")
    def file_status(self, request, file_id):
        self.ingest_keys.check(request.headers.get("Authorization"))
        return json_response(self.files.get_file_status(file_id=file_id))

    @timer(interval=1)
    def keep_awake(self):
        """Wakes the event loop every second so SIGTERM is acted on at once.

        An HTTP-only nameko service can take up to a minute to notice SIGTERM
        (measured; see NAMEKO-NOTES), and `docker stop` kills after 10 s.
        """

"""gateway: the HTTP front door (upstream ingest API, health; the managers' portal)."""
from nameko.timer import timer

from services.gateway import ingest, openapi
from services.gateway.dependencies import IngestKeys
from services.gateway.web import http, json_response
from shared.blobs import Blobs
from shared.rpc import Rpc
from shared.settings import SettingsProvider

# files re-reads a published blob to verify it: allow for a 2 GiB file on a slow disk.
PUBLISH_TIMEOUT_SECONDS = 300


class GatewayService:
    name = "gateway"

    settings = SettingsProvider()
    blobs = Blobs()
    ingest_keys = IngestKeys()
    auth = Rpc("auth")
    files = Rpc("files")
    files_publish = Rpc("files", timeout=PUBLISH_TIMEOUT_SECONDS)

    @http("GET", "/healthz")
    def healthz(self, request):
        return json_response({"status": "ok"})

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
        self.auth.get_community(community_id)  # 404 before a byte of the body is read
        upload = ingest.receive_upload(request, blobs=self.blobs, max_bytes=self.settings.max_upload_bytes)
        file = self.files_publish.publish_file(
            community_id=community_id,
            blob_key=upload.blob.key,
            name=upload.filename,
            size=upload.blob.size,
            sha256=upload.blob.sha256,
            kind=upload.kind,
            shared_by=upload.shared_by,
        )
        body = {key: file[key] for key in ("id", "name", "size", "sha256", "expires_at")}
        return json_response(body, 201)

    @timer(interval=1)
    def keep_awake(self):
        """Wakes the event loop every second so SIGTERM is acted on at once.

        An HTTP-only nameko service can take up to a minute to notice SIGTERM
        (measured; see NAMEKO-NOTES), and `docker stop` kills after 10 s.
        """

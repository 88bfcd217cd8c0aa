"""The ingest API's OpenAPI document, served at /api/v1/openapi.json.

Built from what the handlers check: the community id pattern, the file kinds, the
file name and `shared_by` limits, the maximum upload size, and each error's status
and code (tests validate it with openapi-spec-validator and answer every status).
"""
from __future__ import annotations

from services.auth.contacts import COMMUNITY_ID
from services.files.publishing import MAX_SHARED_BY, STATUS_FIELDS
from services.gateway.errors import LengthRequired, Unauthorized, UploadStalled, status_for
from services.gateway.ingest import DEFAULT_KIND, IDEMPOTENCY_HEADER, PUBLISHED_FIELDS
from shared import filenames
from shared.contract import DELETE_REASONS, FILE_KINDS, REQUEST_ID_PATTERN
from shared.errors import AlreadyExists, InvalidInput, NotFound, PayloadTooLarge, ServiceUnavailable

INGEST_ERRORS = (
    (InvalidInput, "invalid input: an empty file, a bad file name, kind or shared_by, a malformed body"),
    (Unauthorized, "missing or invalid API key"),
    (NotFound, "unknown community"),
    (AlreadyExists, f"the {IDEMPOTENCY_HEADER} was used before for another community or other content"),
    (UploadStalled, "the upload stalled: no data arrived for REQUEST_IDLE_SECONDS"),
    (LengthRequired, "no Content-Length: chunked uploads are not accepted"),
    (PayloadTooLarge, "the file is larger than the maximum"),
    (ServiceUnavailable, "a service did not answer in time; retry later"),
)

_ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "machine-readable code"},
        "message": {"type": "string", "description": "what is wrong, for people"},
        "field": {"type": "string"},
    },
}

_PUBLISHED_FILE = {
    "id": {"type": "string", "format": "uuid"},
    "name": {"type": "string"},
    "size": {"type": "integer", "minimum": 1},
    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    "expires_at": {"type": "string", "format": "date-time",
                   "description": "when the file stops being available: 00:00 Europe/Brussels at the start of the day "
                                  "RETENTION_DAYS after publication (one day earlier if that would exceed "
                                  "RETENTION_DAYS × 24 h)"},
}

STATUS_ERRORS = (
    (Unauthorized, "missing or invalid API key"),
    (NotFound, "no such file"),
    (ServiceUnavailable, "a service did not answer in time; retry later"),
)
_MOMENT = {"type": ["string", "null"], "format": "date-time"}
_FILE_STATUS = {
    **_PUBLISHED_FILE,
    "status": {"enum": ["published", "emailed", "downloaded", "deleted"],
               "description": "the furthest fact so far: deleted, else downloaded, else emailed, else published"},
    "community_id": {"type": "string"},
    "kind": {"enum": list(FILE_KINDS)},
    "shared_by": {"type": "string"},
    "published_at": {"type": "string", "format": "date-time"},
    "emailed_at": {**_MOMENT, "description": "when the mail server accepted the manager's e-mail"},
    "first_downloaded_at": {**_MOMENT, "description": "the first download"},
    "reminded_at": {**_MOMENT, "description": "when the reminder before deletion was sent"},
    "deleted_at": _MOMENT,
    "deleted_reason": {"enum": [*DELETE_REASONS, None]},
}


def _errors(table) -> dict:
    return {
        str(status_for(error)): {"description": f"{description} (error `{error.code}`)", "content": _json("Error")}
        for error, description in table
    }


def _json(schema: str) -> dict:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def document(*, public_base_url: str, max_upload_bytes: int, retention_days: int) -> dict:
    errors = _errors(INGEST_ERRORS)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "energiepost ingest API",
            "version": "1.0.0",
            "description": (
                "Upstream systems (the settlement system) publish files for an energy community here. "
                "The community's manager is e-mailed a link; the file is kept for "
                f"{retention_days} days."
            ),
        },
        "servers": [{"url": public_base_url}],
        "security": [{"ingestKey": []}],
        "paths": {
            "/api/v1/communities/{community_id}/files": {
                "post": {
                    "operationId": "publishFile",
                    "summary": "Publish a file for a community",
                    "parameters": [
                        {
                            "name": "community_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "pattern": COMMUNITY_ID.pattern},
                        },
                        {
                            "name": IDEMPOTENCY_HEADER,
                            "in": "header",
                            "required": False,
                            "description": (
                                "publish once: a repeated request with the same key (e.g. after a timeout) is "
                                "answered with the file of the first, and publishes nothing new; the same key "
                                "space as publish_requested's request_id"
                            ),
                            "schema": {"type": "string", "pattern": REQUEST_ID_PATTERN},
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["file"],
                                    "properties": {
                                        "file": {
                                            "type": "string",
                                            "format": "binary",
                                            "description": (
                                                f"the file (1 to {max_upload_bytes} bytes); its filename is shown "
                                                "to the manager: no path, no control characters, at most "
                                                f"{filenames.MAX_LENGTH} characters"
                                            ),
                                        },
                                        "kind": {"type": "string", "enum": list(FILE_KINDS), "default": DEFAULT_KIND},
                                        "shared_by": {"type": "string", "maxLength": MAX_SHARED_BY},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": {"description": "published; the manager is being notified", "content": _json("PublishedFile")},
                        **errors,
                    },
                }
            },
            "/api/v1/files/{file_id}": {
                "get": {
                    "operationId": "getFileStatus",
                    "summary": "A published file's status, with the moment of each fact",
                    "parameters": [
                        {"name": "file_id", "in": "path", "required": True,
                         "schema": {"type": "string", "format": "uuid"}},
                    ],
                    "responses": {
                        "200": {"description": "the file's status", "content": _json("FileStatus")},
                        **_errors(STATUS_ERRORS),
                    },
                }
            },
            "/healthz": {"get": {"operationId": "health", "security": [], "responses": {"200": {"description": "up"}}}},
        },
        "components": {
            "securitySchemes": {"ingestKey": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": _ERROR,
                "FileStatus": {
                    "type": "object",
                    "required": ["status", *STATUS_FIELDS],
                    "properties": {field: _FILE_STATUS[field] for field in ("status", *STATUS_FIELDS)},
                },
                "PublishedFile": {
                    "type": "object",
                    "required": list(PUBLISHED_FIELDS),
                    "properties": {field: _PUBLISHED_FILE[field] for field in PUBLISHED_FIELDS},
                },
            },
        },
    }

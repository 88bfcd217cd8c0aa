"""The ingest API's OpenAPI document, served at /api/v1/openapi.json."""
from __future__ import annotations

_ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "machine-readable code"},
        "message": {"type": "string", "description": "what is wrong, for people"},
        "field": {"type": "string"},
    },
}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def document(*, public_base_url: str, max_upload_bytes: int, retention_days: int) -> dict:
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
                            "schema": {"type": "string", "pattern": "^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"},
                        }
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
                                                "to the manager: no path, no control characters, at most 255 characters"
                                            ),
                                        },
                                        "kind": {"type": "string", "enum": ["periodic", "adhoc"], "default": "periodic"},
                                        "shared_by": {"type": "string", "maxLength": 100},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "published; the manager is being notified",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PublishedFile"}}},
                        },
                        "400": _error("invalid input (empty file, bad filename, bad kind, malformed body)"),
                        "401": _error("missing or invalid API key"),
                        "404": _error("unknown community"),
                        "411": _error("no Content-Length"),
                        "413": _error("file larger than the maximum"),
                        "503": _error("a service did not answer in time; retry later"),
                    },
                }
            },
            "/healthz": {"get": {"operationId": "health", "security": [], "responses": {"200": {"description": "up"}}}},
        },
        "components": {
            "securitySchemes": {"ingestKey": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": _ERROR,
                "PublishedFile": {
                    "type": "object",
                    "required": ["id", "name", "size", "sha256", "expires_at"],
                    "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "name": {"type": "string"},
                        "size": {"type": "integer", "minimum": 1},
                        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                        "expires_at": {"type": "string", "format": "date-time",
                                       "description": "when the file stops being available: 00:00 Europe/Brussels "
                                                      "at the start of the day RETENTION_DAYS after publication "
                                                      "(one day earlier if that would exceed RETENTION_DAYS × 24 h)"},
                    },
                },
            },
        },
    }

"""`GET /openapi.json`: the API description, generated from the same wire models the handlers validate with."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from homily import __version__
from homily.api.openapi_admin import admin_paths, admin_schemas
from homily.api.openapi_content import content_paths, content_schemas
from homily.api.openapi_responses import completion_ok, response_schemas
from homily.api.responses import json_response
from homily.protocol.chat import ChatCompletionRequest

_REF = "#/components/schemas/{model}"


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model="Error")}}},
    }


_ERRORS = {
    "400": _error("Malformed request (error envelope, code 1001)"),
    "401": {
        **_error("Missing, invalid or expired token"),
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": 'Bearer realm="homily"'}},
    },
    "422": _error("A value out of range or not in an enum"),
    "502": _error("The upstream failed"),
    "503": _error("No configured upstream can serve the request"),
}
_COMPLETION_ERRORS = {
    **_ERRORS,
    "403": _error("A model the organisation may not use (FORBIDDEN, code 1003, param model/model_family/auto_routing)"),
    "408": _error("The upstream timed out (PROVIDER_TIMEOUT)"),
    "413": _error("The request body is over HOMILY_MAX_REQUEST_BYTES"),
    "429": {
        **_error("Rate limited (RATE_LIMITED)"),
        "headers": {
            name: {"schema": {"type": "integer"}}
            for name in ("Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
        },
    },
    "500": _error("Internal error (INTERNAL_ERROR)"),
}

_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": "integer"},
                "name": {"type": "string"},
                "fault": {"enum": ["client", "provider", "server"]},
                "retryable": {"type": "boolean"},
                "request_id": {"type": ["string", "null"]},
            },
            "required": ["message", "type", "code", "name", "fault", "retryable"],
        }
    },
}


def _json_content(model: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": _REF.format(model=model)}}}


def build_openapi() -> dict[str, Any]:
    chat_schema = ChatCompletionRequest.model_json_schema(ref_template=_REF)
    components: dict[str, Any] = dict(chat_schema.pop("$defs", {}))
    components["ChatCompletionRequest"] = chat_schema
    components["Error"] = _ERROR_SCHEMA
    components.update(response_schemas())
    components.update(admin_schemas(_REF))
    components.update(content_schemas(_REF))
    bearer: list[dict[str, list[str]]] = [{"bearer": []}]
    json_ok = {"description": "OK", "content": {"application/json": {}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Homily", "version": __version__, "description": "Gloo AI Completions V2 compatible gateway"},
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "basic": {"type": "http", "scheme": "basic"},
                "admin": {"type": "http", "scheme": "bearer", "description": "The server's HOMILY_ADMIN_SECRET"},
            },
        },
        "paths": {
            "/oauth2/token": {
                "post": {
                    "summary": "Exchange client credentials for an access token",
                    "security": [{"basic": []}, {}],  # or client_id and client_secret in the form
                    "description": "Client credentials go in HTTP Basic or in the form's client_id and "
                    "client_secret, not both; a parameter may not be repeated (RFC 6749 section 3.2).",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/x-www-form-urlencoded": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "grant_type": {"const": "client_credentials"},
                                        "scope": {
                                            "type": "string",
                                            "pattern": r"(^|\s)api/access(\s|$)",
                                            "description": "Space-separated; must include api/access",
                                        },
                                        "client_id": {"type": "string"},
                                        "client_secret": {"type": "string"},
                                    },
                                    "additionalProperties": {"type": "string"},
                                    "required": ["grant_type"],
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {"description": "An access token", "content": _json_content("TokenResponse")},
                        "400": {"description": "RFC 6749 error", "content": _json_content("OAuthError")},
                        "401": {
                            "description": "invalid_client",
                            "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
                            "content": _json_content("OAuthError"),
                        },
                    },
                }
            },
            "/ai/v2/chat/completions": {
                "post": {
                    "summary": "Chat completion with auto-routing, model family or direct model selection",
                    "security": bearer,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": _REF.format(model="ChatCompletionRequest")}}
                        },
                    },
                    "responses": {"200": completion_ok("ChatCompletion", grounded=False), **_COMPLETION_ERRORS},
                }
            },
            "/ai/v2/models": {
                "get": {
                    "summary": "The models the caller's organisation may use (OpenAI models.list shape)",
                    "security": bearer,
                    "responses": {
                        "200": {"description": "OK", "content": _json_content("ModelList")},
                        "401": _ERRORS["401"],
                    },
                }
            },
            "/platform/v2/models": {
                "get": {
                    "summary": "Model catalog with availability",
                    "responses": {"200": {"description": "OK", "content": _json_content("PlatformModelList")}},
                }
            },
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": json_ok}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text"}}}},
            "/readyz": {
                "get": {
                    "summary": "Readiness (database reachable, embedding model loaded)",
                    "responses": {"200": json_ok, "503": json_ok},
                }
            },
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": json_ok}}},
            **content_paths(_REF, _ERRORS, _COMPLETION_ERRORS),
            **admin_paths(_REF, _error("")),
        },
    }


async def openapi(request: Request) -> Response:
    return json_response(build_openapi())


def openapi_routes() -> list[Route]:
    return [Route("/openapi.json", openapi, methods=["GET"])]

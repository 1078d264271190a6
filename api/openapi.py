"""The OpenAPI document: what FastAPI derives from the routes, and what it cannot see.

FastAPI knows each route's parameters, body and answer; the middleware and the error
handlers answer too, and only this module says so, once, from what each route is:

    security       X-API-Key on every path but the guard's open ones; GET /metrics also
                   takes the key as a bearer token (Prometheus' way)
    ErrorEnvelope  the seed's error envelope, exactly as api/errors.py sends it
    400  a body (not JSON) or a command (the owning actor refuses the input)
    401  a path the guard does not leave open (no key, or one the node refuses)
    403  a route that `needs` a scope (api/auth/scopes.py)
    404  a path with ids
    409  a POST or DELETE: its command meets a state it cannot act on (a task already
         finished, a key revoked), or its Idempotency-Key was used for another request.
         A PUT sets a value whatever was there, so it has no conflict.
    413  a method whose body the body limit measures
    422  parameters or a body (FastAPI's validation, in the envelope)
    429  every path: the key's tier and route group, or an anonymous client's limit
    503  a command (the bus is down, or its read model lags); a route that waits for a
         read model says so itself: `responses={503: {"description": ...}}`
Every response carries X-Request-ID; a 429 carries the seed's rate-limit headers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from api.auth.scopes import Needs
from api.errors import UNMAPPED_CODE
from api.middleware.body_limit import UNMEASURED_METHODS
from api.middleware.guard import OPEN_PATHS, SCRAPE_PATH
from events.vocabulary import ErrorCode

KEY_SCHEME = "APIKeyHeader"
BEARER_SCHEME = "BearerKey"
SECURITY_SCHEMES = {
    KEY_SCHEME: {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An AMAS API key (`amas api-key generate`).",
    },
    BEARER_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "description": "The same API key as `Authorization: Bearer <key>`: GET /metrics only, "
        "as a Prometheus scrape config sends it.",
    },
}
"""The "Authorize" button in /docs. A `Security(APIKeyHeader)` dependency would say the
same at the cost of one more dependency to solve per request (FastAPI's dependency
solving was ~16% of the node's loop on the HTTP path); the guard checks keys either way."""

ENVELOPE = "ErrorEnvelope"
ERROR_ENVELOPE: dict[str, Any] = {
    "title": ENVELOPE,
    "description": "Every refusal: the seed's error envelope.",
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details", "request_id", "timestamp"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "enum": [*ErrorCode, UNMAPPED_CODE]},
                "message": {"type": "string", "minLength": 1},
                "details": {
                    "type": "object",
                    "description": "What was refused, field by field (may be empty); "
                    "a 422 lists each problem in `errors`.",
                },
                "request_id": {"type": "string", "description": "The X-Request-ID header."},
                "timestamp": {"type": "string", "format": "date-time"},
            },
        }
    },
}

_COMMANDS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
"""Methods whose routes write, and every write is a command on the bus."""
_CONFLICTS = frozenset({"POST", "DELETE"})
"""Commands that meet a state they may not act on (see 409 above)."""

_REQUEST_ID = {
    "description": "The request's id: the client's X-Request-ID, or a new one.",
    "schema": {"type": "string"},
}
_WHOLE = {"type": "integer", "minimum": 0}
_RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": {
        "description": "The limit per period.",
        "required": True,
        "schema": _WHOLE,
    },
    "X-RateLimit-Remaining": {
        "description": "Requests that may be made right now.",
        "required": True,
        "schema": _WHOLE,
    },
    "X-RateLimit-Reset": {
        "description": "Unix time (s) at which the whole burst is available again.",
        "required": True,
        "schema": _WHOLE,
    },
    "Retry-After": {
        "description": "Seconds until the next request is allowed.",
        "required": True,
        "schema": _WHOLE,
    },
}


def install(app: FastAPI) -> None:
    """Serve the completed document as `app`'s OpenAPI (built once, on first request)."""
    build = app.openapi  # FastAPI's own: paths and models from the routes

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(build(), app.routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete(schema: dict[str, Any], routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """`schema` (FastAPI's document for `routes`) with keys and error statuses added."""
    components = schema.setdefault("components", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    models = components.setdefault("schemas", {})
    models[ENVELOPE] = ERROR_ENVELOPE
    envelope = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ENVELOPE}"}}}
    for context in iter_route_contexts(routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        # Routers are included lazily: the path and the dependencies a route has as
        # included (prefixes, the router's own dependencies) are its context's.
        path = context.path_format or route.path_format
        dependant: Dependant = context.dependant
        for method in sorted(route.methods or ()):
            operation = schema["paths"][path][method.lower()]
            if path == SCRAPE_PATH:
                operation["security"] = [{KEY_SCHEME: []}, {BEARER_SCHEME: []}]
            elif path not in OPEN_PATHS:
                operation["security"] = [{KEY_SCHEME: []}]
            responses: dict[str, dict[str, Any]] = operation["responses"]
            responses.pop("422", None)  # FastAPI's own shape; ours is the envelope
            for code, description in errors_of(path, method, dependant).items():
                responses.setdefault(str(code), {"description": description})
            for status, response in responses.items():
                response.setdefault("headers", {})["X-Request-ID"] = _REQUEST_ID
                if status[:1] in ("4", "5") and "content" not in response:
                    response["content"] = envelope
                if status == "429":
                    response["headers"].update(_RATE_LIMIT_HEADERS)
            operation["responses"] = dict(sorted(responses.items()))
    for unused in ("HTTPValidationError", "ValidationError"):
        models.pop(unused, None)
    return schema


def errors_of(path: str, method: str, dependant: Dependant) -> dict[int, str]:
    """The error statuses an operation may answer with, each with why: `method` on
    `path`, served by a route with `dependant` (its parameters, body and dependencies)."""
    dependants = list(_walk(dependant))
    path_params = [p.name for d in dependants for p in d.path_params]
    other_params = any(d.query_params or d.header_params or d.cookie_params for d in dependants)
    has_body = any(d.body_params for d in dependants)
    command = method in _COMMANDS
    found: dict[int, str] = {}
    if has_body or command:
        found[400] = (
            "INVALID_REQUEST or INVALID_PARAMETER: a body that is not JSON, an unusable "
            "Idempotency-Key, or input the node refuses"
        )
    if path not in OPEN_PATHS:
        found[401] = "UNAUTHORIZED: no X-API-Key, or one the node does not accept"
    scopes = sorted({d.call.scope for d in dependants if isinstance(d.call, Needs)})
    if scopes:
        found[403] = f"FORBIDDEN: the API key lacks the {' or '.join(scopes)} scope"
    if path_params:
        found[404] = "NOT_FOUND: no such " + ", ".join(dict.fromkeys(path_params))
    if method in _CONFLICTS:
        found[409] = (
            "CONFLICT: the state does not allow it (already finished, revoked ...), or the "
            "Idempotency-Key was used for a different request"
        )
    if method not in UNMEASURED_METHODS:
        found[413] = "PAYLOAD_TOO_LARGE: a body over the node's limit (AMAS_MAX_BODY_BYTES)"
    if has_body or path_params or other_params:
        found[422] = "VALIDATION_ERROR: input outside the schema; `details.errors` names each"
    found[429] = "RATE_LIMITED: over a limit; try again after Retry-After seconds"
    if command:
        found[503] = (
            "SERVICE_UNAVAILABLE: the command bus is down, or the read model did not catch "
            "up in time; retry (with the same Idempotency-Key, nothing is made twice)"
        )
    return found


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    """`dependant` and everything it depends on, however deep."""
    yield dependant
    for dependency in dependant.dependencies:
        yield from _walk(dependency)

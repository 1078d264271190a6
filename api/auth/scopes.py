"""What a route needs: `dependencies=[needs("write")]` on a route or a router.

The guard middleware has already said who is calling (request.state.principal);
the route says what that caller must be allowed to do: 403 FORBIDDEN otherwise.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request

from api.errors import ApiError
from events.keys import Principal, Scope
from events.vocabulary import ErrorCode

KEY_SCHEME = "APIKeyHeader"
SECURITY_SCHEMES = {
    KEY_SCHEME: {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An AMAS API key (`amas api-key generate`).",
    }
}
"""For the OpenAPI document (the "Authorize" button in /docs), added by api/app.py: a
`Security(APIKeyHeader)` dependency would say the same at the cost of one more dependency
to solve per request (FastAPI's dependency solving was ~16% of the node's loop on the
HTTP path); the guard middleware checks the keys either way."""


def needs(scope: Scope) -> Any:
    async def check(request: Request) -> Principal:
        principal: Principal = request.state.principal
        if not principal.allows(scope):
            raise ApiError(
                ErrorCode.FORBIDDEN,
                f"this API key lacks the {scope!r} scope",
                {"required": scope, "granted": sorted(principal.scopes)},
            )
        return principal

    return Depends(check)


READ = needs("read")
WRITE = needs("write")
ADMIN = needs("admin")

"""What a route needs: `dependencies=[needs("write")]` on a route or a router.

The guard middleware has already said who is calling (request.state.principal);
the route says what that caller must be allowed to do: 403 FORBIDDEN otherwise.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from amas.keyring import Principal
from amas.keys import Scope
from api.errors import ApiError

# Only for the OpenAPI document (the "Authorize" button in /docs): the guard checks keys.
_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                           description="An AMAS API key (`amas api-key generate`).")


def needs(scope: Scope) -> Any:
    async def check(request: Request, _: str | None = Security(_key_header)) -> Principal:
        principal: Principal = request.state.principal
        if not principal.allows(scope):
            raise ApiError("FORBIDDEN", f"this API key lacks the {scope!r} scope",
                           {"required": scope, "granted": sorted(principal.scopes)})
        return principal

    return Depends(check)


READ = needs("read")
WRITE = needs("write")
ADMIN = needs("admin")

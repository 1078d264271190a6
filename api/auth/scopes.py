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


class Needs:
    """The dependency `needs(scope)` adds; api/openapi.py finds it on a route to
    document the route's 403."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, request: Request) -> Principal:
        principal: Principal = request.state.principal
        if not principal.allows(self.scope):
            raise ApiError(
                ErrorCode.FORBIDDEN,
                f"this API key lacks the {self.scope!r} scope",
                {"required": self.scope, "granted": sorted(principal.scopes)},
            )
        return principal


def needs(scope: Scope) -> Any:
    return Depends(Needs(scope))


READ = needs("read")
WRITE = needs("write")
ADMIN = needs("admin")

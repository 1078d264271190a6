"""client.system: health (no key needed) and system information."""

from __future__ import annotations

from amas.sdk._call import Req
from amas.sdk._endpoint import M, Resource, endpoint
from amas.sdk._parse import as_model
from amas.sdk.models.system import Health, SystemInfo


class System(Resource[M]):
    prefix = ""

    @endpoint("GET", "/health")
    def health(self) -> Req[Health]:
        """The node's health; a degraded node (its 503) is an answer here, not an error."""
        return Req(as_model(Health), answers=frozenset({503}))

    @endpoint("GET", "/system/info")
    def info(self) -> Req[SystemInfo]:
        return Req(as_model(SystemInfo))

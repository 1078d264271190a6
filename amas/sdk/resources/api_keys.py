"""client.api_keys (an admin key): make, list, inspect, rotate and revoke API keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from amas.sdk._call import Req, body
from amas.sdk._endpoint import M, Resource, endpoint
from amas.sdk._parse import as_list, as_model
from amas.sdk.models.api_keys import ApiKey, ApiKeyWithSecret


def _iso(moment: datetime | str | None) -> str | None:
    return moment.isoformat() if isinstance(moment, datetime) else moment


class ApiKeys(Resource[M]):
    prefix = "/api-keys"

    @endpoint("POST", "", deduplicated=True)
    def create(
        self,
        name: str,
        *,
        scopes: Sequence[str] | None = None,
        tier: str | None = None,
        owner: str | None = None,
        expires_at: datetime | str | None = None,
        idempotency_key: str | None = None,
    ) -> Req[ApiKeyWithSecret]:
        """A new key; its raw value is in `api_key`, shown this once."""
        return Req(
            as_model(ApiKeyWithSecret),
            json=body(
                name=name,
                scopes=list(scopes) if scopes is not None else None,
                tier=tier,
                owner=owner,
                expires_at=_iso(expires_at),
            ),
            idempotency_key=idempotency_key,
        )

    @endpoint("GET", "")
    def list(self) -> Req[list[ApiKey]]:
        return Req(as_list("api_keys", ApiKey))

    @endpoint("GET", "/{key_id}")
    def get(self, key_id: str) -> Req[ApiKey]:
        return Req(as_model(ApiKey), path_params={"key_id": key_id})

    @endpoint("POST", "/{key_id}/rotate", deduplicated=True)
    def rotate(
        self,
        key_id: str,
        *,
        expires_at: datetime | str | None = None,
        idempotency_key: str | None = None,
    ) -> Req[ApiKeyWithSecret]:
        """A new secret for the key (in `api_key`, shown once); the old one stops at once."""
        return Req(
            as_model(ApiKeyWithSecret),
            path_params={"key_id": key_id},
            json=body(expires_at=_iso(expires_at)),
            idempotency_key=idempotency_key,
        )

    @endpoint("DELETE", "/{key_id}")
    def revoke(self, key_id: str) -> Req[ApiKey]:
        """Revoke the key: refused from the moment this answers."""
        return Req(as_model(ApiKey), path_params={"key_id": key_id})

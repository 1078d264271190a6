"""client.providers: the AI providers, their status, configuration and a live test."""

from __future__ import annotations

from amas.sdk._call import Req, body
from amas.sdk._endpoint import M, Resource, endpoint
from amas.sdk._parse import as_model
from amas.sdk.models.providers import (
    Provider,
    ProviderConfigUpdate,
    ProviderList,
    ProviderStatus,
    ProviderTest,
)

_TEST_TIMEOUT = 130.0
"""The node gives a live test up to 120 s."""


class Providers(Resource[M]):
    prefix = "/ai-providers"

    @endpoint("GET", "")
    def list(self) -> Req[ProviderList]:
        """Every provider with its health, the fallback chain and the strategy."""
        return Req(as_model(ProviderList))

    @endpoint("GET", "/status")
    def status(self) -> Req[ProviderStatus]:
        return Req(as_model(ProviderStatus))

    @endpoint("GET", "/{provider_id}")
    def get(self, provider_id: str) -> Req[Provider]:
        return Req(as_model(Provider), path_params={"provider_id": provider_id})

    @endpoint("PUT", "/{provider_id}/config")
    def configure(
        self,
        provider_id: str,
        *,
        priority: int | None = None,
        timeout: float | None = None,
        enabled: bool | None = None,
        max_retries: int | None = None,
        rpm: int | None = None,
        tpm: int | None = None,
        model: str | None = None,
    ) -> Req[ProviderConfigUpdate]:
        """Change what is given (an admin key)."""
        return Req(
            as_model(ProviderConfigUpdate),
            path_params={"provider_id": provider_id},
            json=body(
                priority=priority,
                timeout=timeout,
                enabled=enabled,
                max_retries=max_retries,
                rpm=rpm,
                tpm=tpm,
                model=model,
            ),
        )

    @endpoint("POST", "/{provider_id}/test")
    def test(self, provider_id: str) -> Req[ProviderTest]:
        """Connectivity, authentication, model access, response quality, live."""
        return Req(
            as_model(ProviderTest), path_params={"provider_id": provider_id}, timeout=_TEST_TIMEOUT
        )

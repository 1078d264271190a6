"""client.metrics: the node now, a metric's history, and Prometheus' scrape."""

from __future__ import annotations

from amas.sdk._call import Req
from amas.sdk._endpoint import M, Resource, endpoint
from amas.sdk._parse import as_model, as_text
from amas.sdk.models.metrics import Metrics, MetricsHistory


class MetricsResource(Resource[M]):
    prefix = "/metrics"

    @endpoint("GET", "")
    def get(self) -> Req[Metrics]:
        return Req(as_model(Metrics))

    @endpoint("GET", "/history")
    def history(
        self, metric: str, *, period: str = "1h", agent_id: str | None = None
    ) -> Req[MetricsHistory]:
        """`metric`: response_time, throughput, success_rate, queue_depth, cpu_usage,
        memory_usage or disk_usage; `period`: 1h, 6h, 24h, 7d or 30d."""
        return Req(
            as_model(MetricsHistory),
            params={"metric": metric, "period": period, "agent_id": agent_id},
        )

    @endpoint("GET", "/metrics", root=True)
    def prometheus(self) -> Req[str]:
        """The node in Prometheus' text exposition format."""
        return Req(as_text)

"""HTTP bodies (pydantic, as FastAPI wants); everything past the edge is msgspec."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    model_validator,
)
from pydantic_core import PydanticCustomError

from events.clock import utc
from events.vocabulary import Priority

LARGEST_INTEGER = 2**63 - 1
"""The largest integer the node carries (msgspec on NATS and in the log, SQLite): 64 bits,
signed. Larger ones are refused at the edge, in bodies and in query parameters alike."""
_INTEGERS = range(-LARGEST_INTEGER - 1, LARGEST_INTEGER + 1)


def uncarried(value: Any) -> tuple[str, str] | None:
    """Where and why decoded JSON holds what the node cannot carry, or None: an integer
    beyond 64 bits, a float that is not finite (Python reads NaN, Infinity and 1e400), a
    string that is not text (a lone surrogate, which a \\u escape can spell). Iterative:
    the JSON may nest as deep as the parser allows."""
    pending: list[tuple[str, Any]] = [("", value)]
    while pending:
        where, item = pending.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                shown = key if _is_text(key) else _escaped(key)
                path = f"{where}.{shown}" if where else shown
                if shown is not key:
                    return path, "a key that is not UTF-8 text (a lone surrogate)"
                pending.append((path, inner))
        elif isinstance(item, list):
            pending.extend((f"{where}[{i}]", inner) for i, inner in enumerate(item))
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int) and item not in _INTEGERS:
            return where, "an integer beyond 64 bits"
        elif isinstance(item, float) and not math.isfinite(item):
            return where, "not a finite number"
        elif isinstance(item, str) and not _is_text(item):
            return where, "not UTF-8 text (a lone surrogate)"
    return None


def _is_text(value: str) -> bool:
    if value.isascii():
        return True
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _escaped(value: str) -> str:
    """`value` with its surrogates as escapes: pydantic's errors hold only UTF-8."""
    return value.encode("utf-8", "backslashreplace").decode()


class Body(BaseModel):
    """A request body: what pydantic checks, and only what the node can carry."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _carried(cls, data: Any) -> Any:
        problem = uncarried(data)
        if problem is not None:
            where, why = problem
            raise PydanticCustomError(
                "uncarried", "{where}: {why}", {"where": where or "body", "why": why}
            )
        return data


def _exists_in_utc(moment: datetime) -> datetime:
    try:
        return utc(moment)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is in year 0 in UTC
        raise ValueError("out of range once in UTC") from None


UtcDatetime = Annotated[datetime, AfterValidator(_exists_in_utc)]
"""An ISO 8601 time, in UTC once validated; naive means UTC."""
AwareUtcDatetime = Annotated[AwareDatetime, AfterValidator(_exists_in_utc)]


class SubmitTaskBody(Body):
    task_type: str = Field(min_length=1, max_length=100, examples=["echo"])
    parameters: dict[str, Any] = Field(default_factory=dict, examples=[{"message": "hi"}])
    priority: Priority = Priority.NORMAL
    callback_url: HttpUrl | None = None
    max_attempts: int = Field(default=3, ge=1, le=10)


class AgentConfigBody(Body):
    timeout: float | None = Field(default=None, gt=0, le=86_400)
    max_concurrent_tasks: int | None = Field(default=None, ge=1, le=1000)
    priority: Priority | None = None


class ProviderConfigBody(Body):
    """PUT /ai-providers/{id}/config: what to change (absent: unchanged)."""

    priority: int | None = Field(default=None, ge=1, le=1000)
    timeout: float | None = Field(default=None, gt=0, le=600)
    enabled: bool | None = None
    max_retries: int | None = Field(default=None, ge=0, le=10)
    rpm: int | None = Field(default=None, ge=1, le=1_000_000)
    tpm: int | None = Field(default=None, ge=1, le=1_000_000_000)
    model: str | None = Field(default=None, min_length=1, max_length=200)


class ChatMessageBody(Body):
    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=1_000_000)


Strategy = Literal["priority", "intelligent", "round_robin", "fastest", "cheapest"]


class CompleteBody(Body):
    """POST /ai/complete."""

    messages: list[ChatMessageBody] = Field(min_length=1, max_length=1000)
    strategy: Strategy | None = None
    providers: list[str] | None = Field(default=None, min_length=1, max_length=16)
    max_tokens: int | None = Field(default=None, ge=1, le=200_000)
    temperature: float | None = Field(default=None, ge=0, le=2)
    stream: bool = False


OrchestrationMode = Literal[
    "intelligent",
    "full_analysis",
    "emergency_response",
    "performance_optimization",
    "security_audit",
    "documentation_update",
]


class OrchestratorTriggerBody(Body):
    """POST /workflows/orchestrator/trigger (the seed's fields, and where to look)."""

    orchestration_mode: OrchestrationMode = "intelligent"
    target_components: str = Field(default="all", max_length=200)
    priority_level: Priority = Priority.NORMAL
    ai_providers: str = Field(default="all", max_length=300)
    repository: str | None = Field(default=None, min_length=1, max_length=4096)
    max_findings: int = Field(default=50, ge=1, le=500)


class SelfImproverTriggerBody(Body):
    """POST /workflows/self-improver/trigger (the seed's fields, and where to look)."""

    improvement_mode: Literal[
        "intelligent",
        "aggressive",
        "conservative",
        "performance_focused",
        "security_focused",
        "documentation_focused",
    ] = "intelligent"
    target_areas: str = Field(default="all", max_length=300)
    learning_depth: Literal["surface", "medium", "deep", "comprehensive"] = "deep"
    auto_apply: bool = False
    repository: str | None = Field(default=None, min_length=1, max_length=4096)
    ai_providers: str = Field(default="all", max_length=300)


class IssueResponderTriggerBody(Body):
    """POST /workflows/issue-responder/trigger (the seed's fields, and where the issues
    and the code are)."""

    response_mode: Literal[
        "intelligent",
        "aggressive",
        "conservative",
        "technical_focused",
        "user_friendly",
        "automated_fix",
    ] = "intelligent"
    response_depth: Literal["basic", "detailed", "comprehensive", "expert"] = "comprehensive"
    auto_fix: bool = False
    language_preference: Literal[
        "auto", "english", "spanish", "french", "german", "chinese", "japanese"
    ] = "auto"
    target_issues: str = Field(default="all", max_length=500)
    issues_folder: str | None = Field(default=None, min_length=1, max_length=4096)
    repository: str | None = Field(default=None, min_length=1, max_length=4096)
    ai_providers: str = Field(default="all", max_length=300)
    max_issues: int = Field(default=30, ge=1, le=100)


class OrchestratorConfigBody(Body):
    default_mode: OrchestrationMode | None = None
    default_priority: Priority | None = None
    timeout: float | None = Field(default=None, ge=1, le=86_400)


class SelfImproverConfigBody(Body):
    default_mode: str | None = Field(default=None, max_length=50)
    default_depth: Literal["surface", "medium", "deep", "comprehensive"] | None = None
    auto_apply: bool | None = None
    timeout: float | None = Field(default=None, ge=1, le=86_400)


class IssueResponderConfigBody(Body):
    default_mode: str | None = Field(default=None, max_length=50)
    default_depth: Literal["basic", "detailed", "comprehensive", "expert"] | None = None
    auto_fix: bool | None = None
    timeout: float | None = Field(default=None, ge=1, le=86_400)


class ApproveBody(Body):
    """POST /workflows/{id}/approve: what to apply (a self-improver's improvement ids)."""

    improvements: list[str] = Field(min_length=1, max_length=500)


class WorkflowConfigBody(Body):
    """PUT /workflows/config: each type's defaults to change (absent: unchanged)."""

    orchestrator: OrchestratorConfigBody | None = None
    self_improver: SelfImproverConfigBody | None = None
    issue_responder: IssueResponderConfigBody | None = None


class WebhookBody(Body):
    """POST /webhooks (the seed's fields)."""

    url: str = Field(min_length=1, max_length=2048)
    events: list[str] = Field(min_length=1, max_length=20)
    secret: str | None = Field(default=None, min_length=8, max_length=200)
    description: str = Field(default="", max_length=500)


class WebhookPatchBody(Body):
    events: list[str] | None = Field(default=None, min_length=1, max_length=20)
    enabled: bool | None = None


Scope = Literal["read", "write", "admin"]
TierName = Literal["free", "basic", "pro", "enterprise"]


class CreateApiKeyBody(Body):
    name: str = Field(min_length=1, max_length=100, examples=["My App"])
    scopes: list[Scope] = Field(default=["read", "write"], min_length=1)
    tier: TierName = "free"
    owner: str | None = Field(default=None, max_length=200)
    expires_at: AwareUtcDatetime | None = Field(
        default=None, description="When the key stops working (UTC); none: never."
    )


class RotateApiKeyBody(Body):
    expires_at: AwareUtcDatetime | None = Field(
        default=None, description="A new expiry; none keeps the current one."
    )

"""HTTP bodies (pydantic, as FastAPI wants); everything past the edge is msgspec."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, HttpUrl

from events.vocabulary import Priority


class SubmitTaskBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_type: str = Field(min_length=1, max_length=100, examples=["echo"])
    parameters: dict[str, Any] = Field(default_factory=dict, examples=[{"message": "hi"}])
    priority: Priority = Priority.NORMAL
    callback_url: HttpUrl | None = None
    max_attempts: int = Field(default=3, ge=1, le=10)


class AgentConfigBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timeout: float | None = Field(default=None, gt=0, le=86_400)
    max_concurrent_tasks: int | None = Field(default=None, ge=1, le=1000)
    priority: Priority | None = None


Scope = Literal["read", "write", "admin"]
TierName = Literal["free", "basic", "pro", "enterprise"]


class CreateApiKeyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, examples=["My App"])
    scopes: list[Scope] = Field(default=["read", "write"], min_length=1)
    tier: TierName = "free"
    owner: str | None = Field(default=None, max_length=200)
    expires_at: AwareDatetime | None = Field(
        default=None, description="When the key stops working (UTC); none: never."
    )


class RotateApiKeyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expires_at: AwareDatetime | None = Field(
        default=None, description="A new expiry; none keeps the current one."
    )

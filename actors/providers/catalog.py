"""The 16 AI providers AMAS knows, and how each is configured from the environment.

Each provider speaks one API style (clients/): the OpenAI chat-completions style for
most, Anthropic's Messages, Google's generateContent, Cohere's v2 chat. Models, base
URLs, limits and prices are configuration (vendors rename models and move prices):

    AMAS_PROVIDER_<ID>_API_KEY     the key (else the vendor's usual variable, below)
    AMAS_PROVIDER_<ID>_BASE_URL    the API's base URL
    AMAS_PROVIDER_<ID>_MODEL       the model asked
    AMAS_PROVIDER_<ID>_PRIORITY    1 is tried first by the priority strategy
    AMAS_PROVIDER_<ID>_TIMEOUT     seconds one attempt may take (30)
    AMAS_PROVIDER_<ID>_MAX_RETRIES retries of a 5xx/overload/timeout before the next (2)
    AMAS_PROVIDER_<ID>_ENABLED     false keeps it out of every chain
    AMAS_PROVIDER_<ID>_RPM, _TPM   requests and tokens per minute, enforced locally
    AMAS_PROVIDER_<ID>_PRICE_IN, _PRICE_OUT   USD per million prompt / completion tokens
    AMAS_PROVIDER_<ID>_CONTEXT     the model's context window, in tokens

No price is assumed: without one a call's cost is unknown (null) and `cheapest` ranks
the provider last. A provider without a key is `unconfigured` and never called, except
`ollama`, a local server, which counts as configured when it answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from actors.providers.clients import ANTHROPIC, COHERE, GEMINI, OPENAI


class Secret:
    """A key: shown as *** by repr and str, read only by `reveal`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True)
class ProviderSpec:
    id: str
    name: str
    style: str
    base_url: str
    model: str
    key_variables: tuple[str, ...]
    """The vendor's usual variables, tried after AMAS_PROVIDER_<ID>_API_KEY."""
    context_window: int = 128_000
    local: bool = False


# The seed's fallback chain first (deepseek, glm, grok, kimi, qwen), then the rest.
SPECS: tuple[ProviderSpec, ...] = (
    ProviderSpec("deepseek", "DeepSeek", OPENAI, "https://api.deepseek.com/v1",
                 "deepseek-v4-flash", ("DEEPSEEK_API_KEY",)),
    ProviderSpec("glm", "Zhipu GLM", OPENAI, "https://api.z.ai/api/paas/v4", "glm-4.7",
                 ("ZAI_API_KEY", "GLM_API_KEY", "ZHIPUAI_API_KEY")),
    ProviderSpec("grok", "xAI Grok", OPENAI, "https://api.x.ai/v1", "grok-4",
                 ("XAI_API_KEY",), 256_000),
    ProviderSpec("kimi", "Moonshot Kimi", OPENAI, "https://api.moonshot.ai/v1", "kimi-k2.6",
                 ("MOONSHOT_API_KEY", "KIMI_API_KEY"), 256_000),
    ProviderSpec("qwen", "Qwen (DashScope)", OPENAI,
                 "https://dashscope-intl.aliyuncs.com/compatible-mode/v1", "qwen-plus",
                 ("DASHSCOPE_API_KEY",)),
    ProviderSpec("claude", "Anthropic Claude", ANTHROPIC, "https://api.anthropic.com",
                 "claude-sonnet-4-5", ("ANTHROPIC_API_KEY",), 200_000),
    ProviderSpec("gpt4", "OpenAI GPT-4", OPENAI, "https://api.openai.com/v1", "gpt-4o",
                 ("OPENAI_API_KEY",)),
    ProviderSpec("gemini", "Google Gemini", GEMINI,
                 "https://generativelanguage.googleapis.com/v1beta", "gemini-2.5-flash",
                 ("GEMINI_API_KEY", "GOOGLE_API_KEY"), 1_048_576),
    ProviderSpec("openrouter", "OpenRouter", OPENAI, "https://openrouter.ai/api/v1",
                 "openrouter/auto", ("OPENROUTER_API_KEY",)),
    ProviderSpec("groq", "Groq", OPENAI, "https://api.groq.com/openai/v1",
                 "llama-3.3-70b-versatile", ("GROQ_API_KEY",)),
    ProviderSpec("cerebras", "Cerebras", OPENAI, "https://api.cerebras.ai/v1", "gpt-oss-120b",
                 ("CEREBRAS_API_KEY",)),
    ProviderSpec("nvidia", "NVIDIA NIM", OPENAI, "https://integrate.api.nvidia.com/v1",
                 "meta/llama-3.1-70b-instruct", ("NVIDIA_API_KEY",)),
    ProviderSpec("codestral", "Mistral Codestral", OPENAI, "https://codestral.mistral.ai/v1",
                 "codestral-latest", ("CODESTRAL_API_KEY",), 256_000),
    ProviderSpec("cohere", "Cohere", COHERE, "https://api.cohere.com", "command-a-03-2025",
                 ("COHERE_API_KEY", "CO_API_KEY"), 256_000),
    ProviderSpec("chutes", "Chutes", OPENAI, "https://llm.chutes.ai/v1", "Qwen/Qwen3-32B-TEE",
                 ("CHUTES_API_KEY",), 32_768),
    ProviderSpec("ollama", "Ollama (local)", OPENAI, "http://127.0.0.1:11434/v1", "llama3.2",
                 (), 8_192, local=True),
)  # fmt: skip
FALLBACK_CHAIN = ("deepseek", "glm", "grok", "kimi", "qwen")
"""The seed's fallback chain: the priority strategy's order before the rest."""


@dataclass(frozen=True)
class ProviderConfig:
    spec: ProviderSpec
    base_url: str
    model: str
    api_key: Secret | None = field(repr=False)
    priority: int
    timeout: float = 30.0
    max_retries: int = 2
    enabled: bool = True
    rpm: int | None = None
    tpm: int | None = None
    price_in: float | None = None
    """USD per million prompt tokens."""
    price_out: float | None = None
    context_window: int = 128_000

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def configured(self) -> bool:
        """It has what a call needs (a key), or is a local server (then: if it answers)."""
        return self.api_key is not None or self.spec.local

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        if self.price_in is None or self.price_out is None:
            return None
        return (prompt_tokens * self.price_in + completion_tokens * self.price_out) / 1e6

    def with_changes(self, **changes: object) -> ProviderConfig:
        known = {k: v for k, v in changes.items() if v is not None}
        return replace(self, **known)  # type: ignore[arg-type]


class ConfigError(ValueError):
    """A provider variable that does not parse; names the variable."""


def from_env(env: Mapping[str, str]) -> list[ProviderConfig]:
    """Every provider's configuration, from `env` (os.environ and .env)."""
    return [_config(spec, n, env) for n, spec in enumerate(SPECS, 1)]


def _config(spec: ProviderSpec, priority: int, env: Mapping[str, str]) -> ProviderConfig:
    prefix = f"AMAS_PROVIDER_{spec.id.upper()}_"

    def get(name: str) -> str | None:
        value = env.get(prefix + name, "").strip()
        return value or None

    def number(name: str, kind: type[int] | type[float]) -> float | None:
        text = get(name)
        if text is None:
            return None
        try:
            value = kind(text)
        except ValueError:
            raise ConfigError(f"{prefix}{name}={text!r} is not a {kind.__name__}") from None
        if value < 0:
            raise ConfigError(f"{prefix}{name} must not be negative")
        return value

    key = get("API_KEY") or next(
        (env[v].strip() for v in spec.key_variables if env.get(v, "").strip()), None
    )
    enabled = get("ENABLED")
    if enabled is not None and enabled.lower() not in ("1", "0", "true", "false", "yes", "no"):
        raise ConfigError(f"{prefix}ENABLED={enabled!r} is not true or false")
    timeout = number("TIMEOUT", float)
    retries = number("MAX_RETRIES", int)
    order = number("PRIORITY", int)
    rpm, tpm = number("RPM", int), number("TPM", int)
    context = number("CONTEXT", int)
    free = 0.0 if spec.local else None  # a local model costs nothing per token
    return ProviderConfig(
        spec=spec,
        base_url=(get("BASE_URL") or spec.base_url).rstrip("/"),
        model=get("MODEL") or spec.model,
        api_key=Secret(key) if key else None,
        priority=int(order) if order is not None else priority,
        timeout=timeout if timeout else 30.0,
        max_retries=int(retries) if retries is not None else 2,
        enabled=enabled is None or enabled.lower() in ("1", "true", "yes"),
        rpm=int(rpm) if rpm else None,
        tpm=int(tpm) if tpm else None,
        price_in=_or(number("PRICE_IN", float), free),
        price_out=_or(number("PRICE_OUT", float), free),
        context_window=int(context) if context else spec.context_window,
    )


def _or(value: float | None, default: float | None) -> float | None:
    return default if value is None else value

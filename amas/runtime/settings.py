"""Where things live and how the node is configured: one place, read once.

Every `amas` command finds the data folder the same way: `--data-dir`, else
`AMAS_DATA_DIR`, else `./.amas`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from actors.agents.scope import CodeScope, NetworkScope, Scopes, parse_resolver
from actors.alerts.facts import AlertSettings
from actors.learning.decision import MAX_EXPLORATION
from actors.learning.settings import ConcurrencyLimits, LearningSettings
from actors.providers.catalog import ConfigError, ProviderConfig, Secret, from_env
from actors.providers.decide import STRATEGIES
from actors.providers.router import RouterSettings
from actors.webhooks.delivery import FIVE_DAYS, SVIX
from actors.webhooks.guard import parse_allow
from actors.workflows.service import GitHubSettings

DEFAULT_DATA_DIR = ".amas"


def resolve_data_dir(arg: str | os.PathLike[str] | None = None) -> Path:
    chosen = arg or setting("AMAS_DATA_DIR") or DEFAULT_DATA_DIR
    return Path(chosen).expanduser().resolve()


@dataclass(frozen=True)
class DataPaths:
    """The files of one node's data folder."""

    root: Path

    @property
    def events_db(self) -> Path:
        return self.root / "events.db"

    @property
    def projections_db(self) -> Path:
        return self.root / "projections.db"

    @property
    def relay_db(self) -> Path:
        """The relay's checkpoint, apart from the projections so neither waits on the other."""
        return self.root / "relay.db"

    @property
    def nats_dir(self) -> Path:
        return self.root / "nats"

    @property
    def node_file(self) -> Path:
        """Written by `amas serve`: where its API and NATS are, for the other commands."""
        return self.root / "node.json"

    @property
    def pid_file(self) -> Path:
        return self.root / "node.pid"

    @property
    def webhooks_db(self) -> Path:
        """The webhook deliverer's checkpoint in the log."""
        return self.root / "webhooks.db"

    @property
    def alerts_db(self) -> Path:
        """The alert monitor's checkpoint in the log."""
        return self.root / "alerts.db"

    @property
    def webhook_secrets(self) -> Path:
        """The webhooks' signing secrets (mode 0600): never in the log."""
        return self.root / "webhook_secrets.db"

    @property
    def metrics_db(self) -> Path:
        """Host samples (CPU, memory, disk, network), 30 days of them: not in the log."""
        return self.root / "metrics.db"

    def ensure(self) -> DataPaths:
        self.root.mkdir(parents=True, exist_ok=True)
        return self


def setting(name: str, dotenv: Path = Path(".env")) -> str | None:
    """An `AMAS_*` setting: from the environment, else from `./.env` (KEY=value lines)."""
    value = os.environ.get(name)
    if value is not None:
        return value
    return dotenv_values(dotenv).get(name)


def dotenv_values(dotenv: Path = Path(".env")) -> dict[str, str]:
    """The KEY=value lines of `dotenv` (none if it is missing)."""
    try:
        lines = dotenv.read_text().splitlines()
    except OSError:
        return {}
    values: dict[str, str] = {}
    for line in lines:
        key, sep, raw = line.strip().removeprefix("export ").partition("=")
        if sep and key.strip() and not key.startswith("#"):
            raw = raw.strip()
            if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
                raw = raw[1:-1]
            values.setdefault(key.strip(), raw)
    return values


def providers_from_env() -> list[ProviderConfig]:
    """The AI providers' configuration: AMAS_PROVIDER_<ID>_* and the vendors' own key
    variables, from the environment, else from `./.env`."""
    try:
        return from_env({**dotenv_values(), **os.environ})
    except ConfigError as e:
        raise SystemExit(str(e)) from None


def github_from_env() -> GitHubSettings | None:
    """The issue responder's GitHub: AMAS_GITHUB_REPO (owner/name; none: no GitHub),
    GITHUB_TOKEN (or AMAS_GITHUB_TOKEN), AMAS_GITHUB_API_URL (default api.github.com)."""
    repo = setting("AMAS_GITHUB_REPO")
    if not repo:
        return None
    token = setting("AMAS_GITHUB_TOKEN") or os.environ.get("GITHUB_TOKEN")
    return GitHubSettings(
        repo=repo,
        token=Secret(token) if token else None,
        api_url=setting("AMAS_GITHUB_API_URL") or "https://api.github.com",
    )


def webhook_allow_from_env() -> NetworkScope:
    """AMAS_WEBHOOK_ALLOW: where webhooks may be delivered (CIDRs and host names,
    default loopback), checked at registration and again at each delivery."""
    try:
        return parse_allow(setting("AMAS_WEBHOOK_ALLOW"))
    except ValueError as e:
        raise SystemExit(f"AMAS_WEBHOOK_ALLOW: {e}") from None


def webhook_schedule_from_env() -> tuple[float, ...]:
    """Svix's retry schedule, scaled by AMAS_WEBHOOK_RETRY_SCALE (1; 0.001 for tests)."""
    text = setting("AMAS_WEBHOOK_RETRY_SCALE") or "1"
    try:
        scale = float(text)
    except ValueError:
        raise SystemExit(f"AMAS_WEBHOOK_RETRY_SCALE={text!r} is not a number") from None
    return tuple(delay * scale for delay in SVIX)


def webhook_disable_after_from_env() -> float:
    """AMAS_WEBHOOK_DISABLE_AFTER: seconds a webhook may keep failing (no attempt
    delivered since its first failure) before it is disabled; 5 days, as Svix."""
    return _number("AMAS_WEBHOOK_DISABLE_AFTER", FIVE_DAYS, positive=True)


def alerts_from_env() -> AlertSettings:
    """The alert monitor's thresholds (actors/alerts/rules.py); 0 turns a check off:
    AMAS_ALERT_AGENT_ERRORS (3) within AMAS_ALERT_AGENT_WINDOW (300 s, not 0),
    AMAS_ALERT_BACKLOG (1000 queued tasks), AMAS_ALERT_DISK_FREE_MB (500),
    AMAS_ALERT_POLL_EVERY (10 s, not 0), AMAS_ALERT_VERIFY_EVERY (300 s: the events
    since the last check), AMAS_ALERT_VERIFY_FULL_EVERY (86400 s: the whole log; 0,
    only at the first check after a start)."""
    default = AlertSettings()
    return AlertSettings(
        agent_errors=int(_number("AMAS_ALERT_AGENT_ERRORS", default.agent_errors, int)),
        agent_window=_number("AMAS_ALERT_AGENT_WINDOW", default.agent_window, positive=True),
        backlog=int(_number("AMAS_ALERT_BACKLOG", default.backlog, int)),
        disk_free_mb=_number("AMAS_ALERT_DISK_FREE_MB", default.disk_free_mb),
        poll_every=_number("AMAS_ALERT_POLL_EVERY", default.poll_every, positive=True),
        verify_every=_number("AMAS_ALERT_VERIFY_EVERY", default.verify_every),
        verify_full_every=_number("AMAS_ALERT_VERIFY_FULL_EVERY", default.verify_full_every),
    )


def _number(
    name: str, default: float, kind: type[int] | type[float] = float, positive: bool = False
) -> float:
    """A setting that must be a number, 0 or more (more, if `positive`); `default` when
    it is not set."""
    text = setting(name)
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        wanted = "an integer" if kind is int else "a number"
        raise SystemExit(f"{name}={text!r} is not {wanted}") from None
    if value < 0 or (positive and value == 0):
        raise SystemExit(f"{name}={text!r} must be {'more than' if positive else 'at least'} 0")
    return value


def metrics_sample_seconds_from_env() -> float:
    """AMAS_METRICS_SAMPLE_SECONDS: seconds between two samples of the host (10)."""
    return _number("AMAS_METRICS_SAMPLE_SECONDS", 10.0, positive=True)


def router_from_env() -> RouterSettings:
    """AMAS_ROUTER_STRATEGY (priority) and AMAS_ROUTER_RETRY_BUDGET (seconds, 30)."""
    strategy = setting("AMAS_ROUTER_STRATEGY") or "priority"
    if strategy not in STRATEGIES:
        raise SystemExit(f"AMAS_ROUTER_STRATEGY={strategy!r}: one of {', '.join(STRATEGIES)}")
    budget = setting("AMAS_ROUTER_RETRY_BUDGET") or "30"
    try:
        seconds = float(budget)
    except ValueError:
        raise SystemExit(f"AMAS_ROUTER_RETRY_BUDGET={budget!r} is not a number") from None
    return RouterSettings(strategy=strategy, retry_budget=seconds)


def scopes_from_env() -> Scopes:
    """The allow-lists: AMAS_SCAN_SCOPE (CIDRs and host names, default loopback) and
    AMAS_CODE_SCOPE (folders, default the folder the node was started in)."""
    try:
        network = NetworkScope.parse(setting("AMAS_SCAN_SCOPE"))
    except ValueError as e:
        raise SystemExit(f"AMAS_SCAN_SCOPE: {e}") from None
    try:
        resolver = parse_resolver(setting("AMAS_DNS_RESOLVER"))
    except ValueError as e:
        raise SystemExit(f"AMAS_DNS_RESOLVER: {e}") from None
    return Scopes(network, CodeScope.parse(setting("AMAS_CODE_SCOPE"), Path.cwd()), resolver)


def learning_from_env() -> LearningSettings:
    """AMAS_SCHEDULER (learned | fixed), AMAS_LEARNING_EXPLORATION (0.05, at most 0.2),
    AMAS_OPTIMIZER (advise | act | off), AMAS_OPTIMIZER_EVERY (60 s),
    AMAS_OPTIMIZER_LIMITS (`type=low-high,...`; others 1-20)."""
    scheduler = setting("AMAS_SCHEDULER") or "learned"
    if scheduler not in ("learned", "fixed"):
        raise SystemExit(f"AMAS_SCHEDULER={scheduler!r}: one of learned, fixed")
    exploration = _number("AMAS_LEARNING_EXPLORATION", 0.05)
    if exploration > MAX_EXPLORATION:
        raise SystemExit(f"AMAS_LEARNING_EXPLORATION={exploration:g}: at most {MAX_EXPLORATION}")
    optimizer = setting("AMAS_OPTIMIZER") or "advise"
    if optimizer not in ("off", "advise", "act"):
        raise SystemExit(f"AMAS_OPTIMIZER={optimizer!r}: one of off, advise, act")
    try:
        limits = parse_limits(setting("AMAS_OPTIMIZER_LIMITS") or "")
    except ValueError as e:
        raise SystemExit(f"AMAS_OPTIMIZER_LIMITS: {e}") from None
    return LearningSettings(
        scheduler=scheduler,  # type: ignore[arg-type]
        exploration=exploration,
        optimizer=optimizer,  # type: ignore[arg-type]
        optimizer_every=_number("AMAS_OPTIMIZER_EVERY", 60.0, positive=True),
        limits=limits,
    )


def parse_limits(text: str) -> dict[str, ConcurrencyLimits]:
    """`security=2-10,osint=1-8` -> concurrency limits per agent type."""
    limits: dict[str, ConcurrencyLimits] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, span = part.partition("=")
        low, _, high = span.partition("-")
        try:
            limit = ConcurrencyLimits(int(low), int(high))
        except ValueError:
            raise ValueError(f"{part!r} is not type=low-high") from None
        if not 1 <= limit.low <= limit.high:
            raise ValueError(f"{part!r}: need 1 <= low <= high")
        limits[name.strip()] = limit
    return limits


def slowdown_from_env() -> dict[str, float]:
    """AMAS_AGENT_SLOWDOWN, a test setting: `agent-id=4,...` makes each named agent take
    that many times as long for every task (it waits after its work)."""
    slowdown: dict[str, float] = {}
    for part in filter(
        None, (p.strip() for p in (setting("AMAS_AGENT_SLOWDOWN") or "").split(","))
    ):
        name, _, factor = part.partition("=")
        try:
            slowdown[name.strip()] = float(factor)
        except ValueError:
            raise SystemExit(f"AMAS_AGENT_SLOWDOWN: {part!r} is not agent-id=factor") from None
        if slowdown[name.strip()] < 1:
            raise SystemExit(f"AMAS_AGENT_SLOWDOWN: {part!r}: the factor is 1 or more")
    return slowdown

"""How `amas` writes its log: text lines (the default), or JSON lines (AMAS_LOG_FORMAT=json)
that also name the request, the trace and the task each line is about, where known.

What a line is about is events/tracing.py's ambient scope where the line was logged: the
HTTP request (request id, trace), the command being decided (its request, the task), the
agent's work (the task). A line outside any of them has no ids.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from events import tracing

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC, ms), level, logger, message, then request_id,
    trace_id, span_id and task_id when known, exc and stack when there are any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        here = tracing.here()
        if here is not None:
            if here.request_id:
                line["request_id"] = here.request_id
            if here.traceparent:
                line["trace_id"] = here.trace_id
                line["span_id"] = here.span_id
            if here.task_id:
                line["task_id"] = here.task_id
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str, form: str | None) -> None:
    """The root logger at `level`, writing `form` (text or json) to stderr."""
    form = (form or "text").strip().lower()
    if form not in FORMATS:
        raise ValueError(f"AMAS_LOG_FORMAT={form!r}: use text or json")
    if form == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logging.basicConfig(level=level.upper(), handlers=[handler])
    else:
        logging.basicConfig(level=level.upper(), format=TEXT_FORMAT)


def json_logs() -> bool:
    """Whether the root logger writes JSON lines (then uvicorn's lines should go to it)."""
    return any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers)

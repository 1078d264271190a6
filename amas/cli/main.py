"""The `amas` command: one sub-command group per module."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from amas import __version__
from amas.cli import apikey_cmd, events_cmd, providers_cmd, serve_cmd, task_cmd
from amas.runtime.logs import configure_logging
from amas.runtime.settings import setting


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="amas", description="AMAS: a multi-agent task platform.")
    parser.add_argument("--version", action="version", version=f"amas {__version__}")
    parser.add_argument(
        "--log-level",
        default=setting("AMAS_LOG_LEVEL") or "WARNING",
        help="logging level: DEBUG, INFO, WARNING (default: $AMAS_LOG_LEVEL, else WARNING)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve_cmd.register(commands)
    events_cmd.register(commands)
    task_cmd.register(commands)
    apikey_cmd.register(commands)
    providers_cmd.register(commands)
    return parser


def _not_bandits_sarif(record: logging.LogRecord) -> bool:
    """bandit lists a SARIF formatter that needs its `sarif` extra, and loading its
    plugins logs that as an ERROR at every start. We never use bandit's formatters (our
    SARIF is written by the reporting agent): drop that one message."""
    return "'sarif'" not in record.getMessage()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        configure_logging(args.log_level, setting("AMAS_LOG_FORMAT"))
    except ValueError as e:
        parser.error(str(e))
    logging.getLogger("stevedore.extension").addFilter(_not_bandits_sarif)
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:  # `amas events tail | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    return code


if __name__ == "__main__":
    sys.exit(main())

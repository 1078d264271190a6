"""`amas serve`: one process with nats-server, the event log, the actors and the API."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import Callable, Generator

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from amas.cli.common import add_data_dir, data_paths
from amas.runtime.errors import NatsServerError
from amas.runtime.gc_tuning import tune_for_serving
from amas.runtime.logs import json_logs
from amas.runtime.node import Node, NodeConfig
from amas.runtime.settings import setting
from amas.runtime.telemetry import start_tracing, stop_tracing
from api.settings import EdgeSettings
from events.commands import CREATE_API_KEY, create_command
from events.envelope import Meta


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser("serve", help="start a node: NATS, event log, actors, HTTP API")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP address (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="HTTP port (default 8000)")
    add_data_dir(serve)
    serve.add_argument(
        "--nats",
        default=None,
        metavar="URL",
        help="join this NATS server (default: $AMAS_NATS_URL, else start one)",
    )
    serve.add_argument(
        "--nats-port",
        type=_port,
        default=None,
        help="port of the embedded nats-server (default 4222, or a free one)",
    )
    serve.set_defaults(run=_run)


def _port(text: str) -> int:
    """A TCP port to listen on: 1-65535 (0, "any free port", would leave no way to learn
    which one was taken)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1-65535, not {port}")
    return port


def _run(args: argparse.Namespace) -> int:
    # uvloop: socket writes and cross-thread wake-ups are a large share of the node's CPU.
    try:
        import uvloop
    except ImportError:  # a platform without uvloop (Windows) runs on asyncio's own loop
        return asyncio.run(serve_node(args))
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(serve_node(args))


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM/SIGINT after its shutdown, which would kill the process
    before the node stops its nats-server; here the signal only asks for a clean exit.
    Open event streams (a console in a browser) end as the shutdown starts: uvicorn
    waits for every open response, and a stream has no end of its own."""

    def __init__(self, config: uvicorn.Config, on_shutdown: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_shutdown = on_shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.on_shutdown()
        await super().shutdown(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        previous = {
            sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


async def serve_node(args: argparse.Namespace) -> int:
    edge = EdgeSettings.from_env(setting)
    if not edge.auth and args.host not in _LOOPBACK:
        print(
            f"amas serve: AMAS_AUTH=off is allowed on a loopback address only, not {args.host}",
            file=sys.stderr,
        )
        return 2
    config = NodeConfig(
        data=data_paths(args),
        nats_url=args.nats or setting("AMAS_NATS_URL") or None,
        nats_port=args.nats_port,
        admin_key=setting("AMAS_API_KEY") or None,
    )
    try:
        tracer_provider = start_tracing(os.environ)
    except ValueError as e:
        print(f"amas serve: {e}", file=sys.stderr)
        return 2
    try:
        return await _serve(args, edge, config)
    except NatsServerError as e:  # taken port, missing binary: say so, no traceback
        print(f"amas serve: {e}", file=sys.stderr)
        return 1
    finally:
        stop_tracing(tracer_provider)


async def _serve(args: argparse.Namespace, edge: EdgeSettings, config: NodeConfig) -> int:
    async with Node(config) as node:
        # The edge's modules load only for serving: other commands start faster.
        from amas.runtime.edge import edge_app
        from api.app import close_streams

        first_key = await _first_admin_key(node) if edge.auth else None
        tune_for_serving()
        app = edge_app(node, edge)
        server = _Server(
            uvicorn.Config(
                app,
                host=args.host,
                port=args.port,
                log_level="warning",
                access_log=False,
                lifespan="off",
                server_header=False,
                # In JSON mode uvicorn's own lines go through the root logger's JSON handler.
                log_config=None if json_logs() else LOGGING_CONFIG,
                # The edge is reached directly (loopback by default); no proxy's headers to trust.
                proxy_headers=False,
            ),
            on_shutdown=lambda: close_streams(app),
        )
        serving = asyncio.create_task(_listen(server))
        while not server.started and not serving.done():  # noqa: ASYNC110 (uvicorn has no event)
            await asyncio.sleep(0.02)
        if server.started:
            base = f"http://{args.host}:{args.port}"
            config.data.node_file.write_text(
                json.dumps({"pid": os.getpid(), "api": f"{base}/api/v1", "nats": node.nats_url})
            )
            print(
                f"AMAS {node.version} ready\n"
                f"  API   {base}/api/v1\n"
                f"  docs  {base}/docs\n"
                f"  NATS  {node.nats_url}{'' if config.nats_url else ' (embedded)'}\n"
                f"  data  {config.data.root}",
                flush=True,
            )
            if first_key is not None:
                print(
                    f"  key   {first_key}\n"
                    "        the first admin API key: shown this once, keep it"
                    " (or set AMAS_API_KEY)",
                    flush=True,
                )
            elif not edge.auth:
                print("  auth  OFF (AMAS_AUTH=off): no keys, no rate limits", flush=True)
        await serving
        config.data.node_file.unlink(missing_ok=True)
        if not server.started:
            print(f"amas serve: could not listen on {args.host}:{args.port}", file=sys.stderr)
            return 1
    return 0


async def _listen(server: uvicorn.Server) -> None:
    """`server.serve()`; uvicorn calls sys.exit(1) when it cannot bind, which would leave
    the loop at once, past the node's shutdown (its threads then hold the process up)."""
    with contextlib.suppress(SystemExit):  # not started: _serve says so and returns 1
        await server.serve()


async def _first_admin_key(node: Node) -> str | None:
    """On a node that has never had a key (and no AMAS_API_KEY), make an admin key."""
    if node.config.admin_key or len(node.keyring):
        return None
    key, command = create_command(
        "admin (made at first start)",
        ["admin", "read", "write"],
        "enterprise",
        meta=Meta(actor="amas serve"),
    )
    reply = await node.bus.request(CREATE_API_KEY, command)
    if not reply.ok:
        raise RuntimeError(f"could not create the first admin key: {reply.message}")
    return key.raw

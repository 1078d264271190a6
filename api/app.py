"""The FastAPI edge: one router per resource under /api/v1, errors in the seed envelope."""

from __future__ import annotations

from fastapi import FastAPI

from amas import __version__
from amas.node import Node
from api import errors
from api.middleware.request_id import RequestIdMiddleware
from api.routes import agents, health, system, tasks

API_PREFIX = "/api/v1"


def create_app(node: Node) -> FastAPI:
    app = FastAPI(
        title="AMAS API",
        version=__version__,
        description="Submit tasks to a fleet of agents and watch them happen.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/docs",
        redoc_url="/redoc",
    )
    app.state.node = node
    for router in (health.router, system.router, tasks.router, agents.router):
        app.include_router(router, prefix=API_PREFIX)
    errors.install(app)
    app.add_middleware(RequestIdMiddleware)
    return app

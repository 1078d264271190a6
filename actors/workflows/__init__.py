"""Durable AI workflows: the engine, and the orchestrator, self-improver and issue responder."""

"""Workflows: the orchestrator, the self-improver and the issue-responder, and what they share."""

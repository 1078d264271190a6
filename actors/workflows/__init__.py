"""Workflows: the shared engine, and one folder per workflow (issue_responder, ...)."""

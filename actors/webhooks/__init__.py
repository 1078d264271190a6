"""Webhooks: subscriptions, signing, the SSRF guard, delivery and its HTTP transport."""

"""Who may call: API keys, scopes, tiers and rate limits."""

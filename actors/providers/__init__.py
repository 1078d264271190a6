"""AI providers: one client per vendor API style, the catalogue of configured providers,
and the router that picks one, retries and fails over (design.md, "Where each area lives").
Every driver error is translated once, in `errors.py`."""

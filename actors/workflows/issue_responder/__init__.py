"""The issue responder: reads issues (GitHub or a local folder), cleans their text for
prompts, answers them, and proposes fixes as draft pull requests, never on the default
branch."""

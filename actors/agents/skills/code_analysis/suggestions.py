"""What to do about a finding: one sentence per bandit rule, and for radon's figures."""

from __future__ import annotations

_XML = "Parse untrusted XML with defusedxml (defusedxml.ElementTree and friends)."
_SHELL = (
    "Pass the command as a list with shell=False; if a shell is unavoidable, quote every "
    "untrusted part with shlex.quote."
)
_HARD_CODED = (
    "Read the secret from the environment or a secrets manager instead of the source; if "
    "this is not a secret (a label, an enum value), mark the line `# nosec` with the rule id."
)

SECURITY: dict[str, str] = {
    "B101": "Raise an exception instead: asserts are removed when Python runs with -O.",
    "B102": "Do not exec code built at run time; dispatch to known functions instead.",
    "B103": "Give files the least permissions they need (e.g. 0o600 or 0o644), never 0o777.",
    "B104": "Bind to 127.0.0.1 or a configured address rather than every interface.",
    "B105": _HARD_CODED,
    "B106": _HARD_CODED,
    "B107": _HARD_CODED,
    "B108": "Use tempfile.mkstemp / TemporaryDirectory instead of a fixed path under /tmp.",
    "B110": "Handle or at least log the exception; a bare `except: pass` hides failures.",
    "B112": "Log the exception before `continue`, or catch only the errors you expect.",
    "B113": "Pass a timeout to every requests call, so a silent server cannot hang it.",
    "B201": "Never run Flask with debug=True where others can reach it (it allows code execution).",
    "B202": "Extract only vetted members (tarfile's filter='data'), never extractall blindly.",
    "B301": "Do not unpickle untrusted data; use JSON or msgspec for data that crosses a boundary.",
    "B302": "Do not unmarshal untrusted data; use JSON for data that crosses a boundary.",
    "B303": "Use SHA-256 or better for security; for checksums pass usedforsecurity=False.",
    "B304": "Use a modern authenticated cipher such as AES-GCM or ChaCha20-Poly1305.",
    "B305": "Use an authenticated mode (GCM) instead of ECB.",
    "B306": "Use tempfile.mkstemp or NamedTemporaryFile: mktemp's name can be taken first.",
    "B307": "Use ast.literal_eval for literals, or parse the input explicitly; never eval it.",
    "B308": "Escape the content, or make sure none of it comes from a user, before mark_safe.",
    "B310": "Check the URL's scheme (http/https only) before opening it.",
    "B311": "Use the secrets module for tokens, passwords and anything security-related.",
    "B312": "Use SSH instead of telnet.",
    "B313": _XML,
    "B314": _XML,
    "B315": _XML,
    "B316": _XML,
    "B317": _XML,
    "B318": _XML,
    "B319": _XML,
    "B320": _XML,
    "B321": "Use SFTP or FTPS instead of plain FTP.",
    "B323": "Keep certificate verification on: use ssl.create_default_context().",
    "B324": "Use SHA-256 or better for security; for checksums pass usedforsecurity=False.",
    "B401": "Use SSH instead of telnet.",
    "B402": "Use SFTP or FTPS instead of plain FTP.",
    "B403": "Make sure nothing untrusted is ever unpickled; prefer JSON or msgspec.",
    "B404": "Review every subprocess call for untrusted input; pass arguments as lists.",
    "B405": _XML,
    "B406": _XML,
    "B407": _XML,
    "B408": _XML,
    "B409": _XML,
    "B411": "Use defusedxml.xmlrpc to protect xmlrpc from XML attacks.",
    "B412": "Do not use wsgiref.handlers.CGIHandler behind a proxy (httpoxy).",
    "B413": "Replace pyCrypto with the maintained cryptography package.",
    "B415": "Use an encrypted protocol instead of IPMI.",
    "B501": "Keep TLS certificate verification on (verify=True, or a CA bundle path).",
    "B502": "Use TLS 1.2 or newer (ssl.PROTOCOL_TLS_CLIENT with a minimum_version).",
    "B503": "Use TLS 1.2 or newer (ssl.PROTOCOL_TLS_CLIENT with a minimum_version).",
    "B504": "Set the TLS version explicitly, or use ssl.create_default_context().",
    "B505": "Use at least 2048-bit RSA/DSA keys, or 224-bit elliptic curves.",
    "B506": "Use yaml.safe_load (or yaml.load with Loader=yaml.SafeLoader).",
    "B507": "Verify host keys: load known hosts and use RejectPolicy, not AutoAddPolicy.",
    "B508": "Use SNMPv3 with authentication instead of v1/v2c.",
    "B509": "Use SNMPv3 with authPriv (authentication and encryption).",
    "B601": "Quote every untrusted part of the command sent over paramiko with shlex.quote.",
    "B602": _SHELL,
    "B603": "Make sure the arguments cannot come from untrusted input unchecked.",
    "B604": _SHELL,
    "B605": "Use subprocess.run with a list of arguments instead of os.system / popen.",
    "B606": "Make sure the program and its arguments cannot come from untrusted input.",
    "B607": "Call the program by its full path, so PATH cannot substitute another one.",
    "B608": "Use the driver's parameter placeholders instead of building SQL with strings.",
    "B609": "Do not pass wildcards to commands such as tar or chown; list the files instead.",
    "B610": "Avoid QuerySet.extra; use the ORM or parameterized raw SQL.",
    "B611": "Pass parameters to RawSQL separately instead of formatting them into the SQL.",
    "B612": "Give logging.config.listen a verify function, or do not listen at all.",
    "B613": "Remove the bidirectional control characters: the code reads unlike what it runs.",
    "B614": "Load only trusted model files, with torch.load(..., weights_only=True).",
    "B615": "Pin the download to a revision (a commit hash) so it cannot change underneath.",
    "B701": "Create the jinja2 Environment with autoescape=True (or select_autoescape()).",
    "B702": "Escape template output: Mako does not autoescape by default.",
    "B703": "Escape the content, or make sure none of it comes from a user, before mark_safe.",
    "B704": "Escape the content, or make sure none of it comes from a user, before Markup().",
}


def security(rule_id: str, more_info: str | None) -> str:
    known = SECURITY.get(rule_id)
    if known is not None:
        return known
    return f"Review the flagged code; see {more_info}." if more_info else "Review the flagged code."


def complexity(name: str, score: int, rank: str) -> str:
    return (
        f"Split {name} into smaller functions: {score} independent paths (rank {rank}) "
        "each need a test; 10 or fewer keep it easy to follow."
    )


def maintainability(score: float, rank: str) -> str:
    return (
        f"Maintainability index {score:.1f} (rank {rank}): split the module and its "
        "longest, most branching functions."
    )

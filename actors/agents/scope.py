"""The allow-lists every agent checks before it touches a target.

A network target must be inside the scan scope (`AMAS_SCAN_SCOPE`: CIDRs and host
names, default loopback): a host name is checked against the scope's names before it is
resolved, and every address it resolves to (or an IP given as such) against the CIDRs
before a packet is sent; redirects, links and subdomains go through the same checks.
A file target must be inside one of the code scope's folders (`AMAS_CODE_SCOPE`), after
symlinks and `..` are resolved. Anything else raises OutOfScope, which the task manager
answers with 403 at submit.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from actors.errors import InvalidParameter, OutOfScope

DEFAULT_SCAN_SCOPE = "127.0.0.0/8,::1,localhost"
_LABEL = re.compile(r"[a-z0-9_-]{1,63}")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class NetworkScope:
    networks: tuple[Network, ...]
    names: frozenset[str]
    """Host names, lower case without a trailing dot; `*.example.test` allows subdomains."""

    @classmethod
    def parse(cls, text: str | None) -> NetworkScope:
        """'127.0.0.0/8,::1,localhost' -> the scope; raises ValueError naming a bad entry."""
        networks: list[Network] = []
        names: set[str] = set()
        for entry in (text if text is not None else DEFAULT_SCAN_SCOPE).split(","):
            entry = entry.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                name = _normal_name(entry.removeprefix("*."))
                if not name or not all(_label_ok(label) for label in name.split(".")):
                    raise ValueError(
                        f"scan scope: {entry!r} is neither a CIDR nor a host name"
                    ) from None
                names.add(f"*.{name}" if entry.startswith("*.") else name)
        return cls(tuple(networks), frozenset(names))

    def allows_address(self, address: Address | str) -> bool:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip.version == net.version and ip in net for net in self.networks)

    def allows_name(self, host: str) -> bool:
        name = _normal_name(host)
        if name in self.names:
            return True
        labels = name.split(".")
        return any(f"*.{'.'.join(labels[i:])}" in self.names for i in range(1, len(labels)))

    def check_host(self, parameter: str, host: str) -> None:
        """`host` (an IP or a name) before anything is resolved or sent."""
        try:
            ip = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            if not self.allows_name(host):
                raise OutOfScope(
                    parameter, host, "the host name is not in AMAS_SCAN_SCOPE"
                ) from None
            return
        if not self.allows_address(ip):
            raise OutOfScope(parameter, host, "the address is not in AMAS_SCAN_SCOPE")

    def check_addresses(self, parameter: str, host: str, addresses: Iterable[str]) -> None:
        """What `host` resolved to, before a packet is sent to any of them."""
        for address in addresses:
            if not self.allows_address(address):
                raise OutOfScope(
                    parameter, host, f"it resolves to {address}, not in AMAS_SCAN_SCOPE"
                )


@dataclass(frozen=True)
class CodeScope:
    folders: tuple[Path, ...]

    @classmethod
    def parse(cls, text: str | None, default: Path) -> CodeScope:
        """Folders separated by os.pathsep (':' here); default: `default`."""
        chosen = [f for f in (text or "").split(os.pathsep) if f.strip()] or [str(default)]
        return cls(tuple(Path(folder).expanduser().resolve() for folder in chosen))

    def resolve(self, parameter: str, path: str) -> Path:
        """`path` with symlinks and `..` resolved, if inside a folder of the scope."""
        if "\x00" in path:
            raise InvalidParameter(parameter, "a path may not hold a NUL byte")
        resolved = Path(path).expanduser().resolve()
        if not any(resolved.is_relative_to(folder) for folder in self.folders):
            raise OutOfScope(parameter, path, "not inside a folder of AMAS_CODE_SCOPE")
        return resolved


@dataclass(frozen=True)
class Scopes:
    network: NetworkScope
    code: CodeScope
    dns_resolver: tuple[str, int] | None = None
    """Where DNS questions go (AMAS_DNS_RESOLVER, host:port); None: the system's."""


def parse_resolver(text: str | None) -> tuple[str, int] | None:
    """'127.0.0.1:5353' or '[::1]:53' or '127.0.0.1' (port 53); None or '' for the system's."""
    if not text or not text.strip():
        return None
    text = text.strip()
    if text.startswith("["):  # [v6]:port
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif text.count(":") == 1:  # v4:port
        host, _, port = text.partition(":")
    else:  # v4, or v6 without a port
        host, port = text, "53"
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address with an optional :port") from None
    if not 0 < number < 65536:
        raise ValueError(f"{text!r}: the port must be 1-65535")
    return host, number


def _normal_name(host: str) -> str:
    return host.strip().rstrip(".").lower()


def _label_ok(label: str) -> bool:
    return (
        _LABEL.fullmatch(label) is not None
        and not label.startswith("-")
        and not label.endswith("-")
    )

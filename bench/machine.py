"""Facts about the machine a benchmark runs on, shared by the scripts in bench/.

* for the header: `version_of(package)`, `versions(*packages)`, `nats_server_version()`,
  `cpu_model()`, `nproc()`;
* CPU time from /proc: `cpu_seconds(pid)` (or of one thread), `own_cpu_seconds()`,
  `machine_busy_seconds()`, `processes()` (every readable process), `nats_child(pid)`;
* per run: `shares(before, after, wall, ours)` turns two samples into shares of one core
  (with "other" = the whole machine minus `ours`), and `busiest_others(...)` names the
  other processes that used the most CPU meanwhile.

Linux only where /proc is read; elsewhere the samples are 0 or missing, never an error.
"""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

Processes = dict[int, tuple[str, float]]
"""pid -> (short command line, CPU seconds so far)"""


# -- the header ---------------------------------------------------------------------------


def version_of(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def versions(*packages: str) -> str:
    """`name version, name version, ...` for installed packages (`?` for a missing one)."""
    return ", ".join(f"{package} {version_of(package)}" for package in packages)


def nats_server_version() -> str:
    from amas.runtime.nats_server import find_binary  # here: bench/store.py needs no amas

    try:
        out = subprocess.run(
            [find_binary(), "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except Exception:
        return "?"
    return out.strip().rsplit(" ", 1)[-1] or "?"


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def nproc() -> int | None:
    """CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


# -- CPU time from /proc ------------------------------------------------------------------


def _stat_cpu_seconds(stat_path: str) -> float:
    try:
        with open(stat_path) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """CPU seconds so far of process `pid` (all its threads), or of its thread `thread`
    (the main thread, an event loop's, has the pid as its id); 0.0 if unreadable."""
    if thread is None:
        return _stat_cpu_seconds(f"/proc/{pid}/stat")
    return _stat_cpu_seconds(f"/proc/{pid}/task/{thread}/stat")


def own_cpu_seconds() -> float:
    """CPU seconds so far of this process (user + system)."""
    own = os.times()
    return own.user + own.system


def machine_busy_seconds() -> float | None:
    """CPU seconds all cores spent on anything but idle and iowait, since boot."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks
    return (user + nice + system + irq + softirq + steal) / _TICK


def processes() -> Processes:
    """pid -> (short command line, CPU seconds so far) for every process we may read."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        words = [os.path.basename(argv[0].decode(errors="replace"))]
        words += [a.decode(errors="replace") for a in argv[1:4] if a]
        found[int(entry)] = (" ".join(words)[:48], cpu_seconds(int(entry)))
    return found


def nats_child(pid: int) -> int | None:
    """The pid of the nats-server that process `pid` started (an embedded one), if any."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid == pid and os.path.basename(os.readlink(f"/proc/{entry}/exe")) == (
                "nats-server"
            ):
                return int(entry)
        except (OSError, IndexError, ValueError):
            continue
    return None


# -- one run ------------------------------------------------------------------------------


def shares(
    before: Mapping[str, float], after: Mapping[str, float], wall: float, ours: Iterable[str]
) -> dict[str, float]:
    """Per key of two samples: CPU seconds used / `wall` (1.0 = one core). A "machine" key
    (from `machine_busy_seconds()`) becomes "other": the machine less the keys `ours`."""
    cpu = {k: (after[k] - before[k]) / wall for k in after if k in before}
    if "machine" in cpu:  # whatever else ran on this machine meanwhile
        cpu["other"] = max(0.0, cpu.pop("machine") - sum(cpu.get(k, 0.0) for k in ours))
    return cpu


def busiest_others(
    before: Processes, mine: Iterable[int | None], wall: float
) -> list[tuple[str, float]]:
    """The (at most 3) processes, other than this one and `mine`, that used the most CPU
    since `before = processes()` (a new one: all of it), as shares of one core >= 2%."""
    skip = {os.getpid(), *mine}
    used = [
        (cpu - before.get(pid, ("", 0.0))[1], name)
        for pid, (name, cpu) in processes().items()
        if pid not in skip
    ]
    return [
        (name, seconds / wall)
        for seconds, name in sorted(used, reverse=True)[:3]
        if seconds / wall >= 0.02
    ]

"""The stack's processes by role (from their command lines), with their PSS and CPU time."""

import os
import re
from collections import defaultdict
from dataclasses import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Proc:
    """One process of the stack."""

    pid: int
    role: str


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _ppid(pid: int) -> int:
    stat = _read(f"/proc/{pid}/stat").decode(errors="replace")
    return int(stat.rsplit(")", 1)[1].split()[1])


def role_of(argv: list[str]) -> str:
    """A process's role from its command line: the megamsg module it runs, or the program."""
    line = " ".join(argv)
    match = re.search(r"megamsg\.runtime\.(\w+)", line)
    if match:
        role = match.group(1)
        if role == "queue_worker":
            queues = (
                argv[argv.index("megamsg.runtime.queue_worker") + 1 :]
                if "megamsg.runtime.queue_worker" in argv
                else []
            )
            names = sorted({re.sub(r":\d+$", "", name) for name in queues}) or ["events+webhooks"]
            return f"queue_worker {'+'.join(names)}"
        return role
    if "gunicorn" in line:
        return "gunicorn"
    if "redis-server" in line:
        return "redis"
    if "worker.py" in line:
        return "supervisor"
    return "other: " + os.path.basename(argv[0]) if argv else "other"


def stack_processes(root_pid: int, marker: str) -> list[Proc]:
    """The root process, its descendants, and any process whose command line names marker (the data dir)."""
    parents: dict[int, int] = {}
    argvs: dict[int, list[str]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        try:
            parents[pid] = _ppid(pid)
            argvs[pid] = [a.decode(errors="replace") for a in _read(f"/proc/{pid}/cmdline").split(b"\0") if a]
        except (OSError, IndexError, ValueError):
            continue
    chosen = {root_pid} | {pid for pid, argv in argvs.items() if marker and marker in " ".join(argv)}
    grew = True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in chosen and pid not in chosen}
        chosen |= more
        grew = bool(more)
    return [Proc(pid, role_of(argvs[pid])) for pid in sorted(chosen) if argvs.get(pid)]


def pss_kb(pid: int) -> int:
    """Proportional set size: shared pages (libraries, forked children) split among their sharers."""
    for line in _read(f"/proc/{pid}/smaps_rollup").decode().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = _read(f"/proc/{pid}/stat").decode(errors="replace").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def pss_by_role(procs: list[Proc]) -> dict[str, tuple[int, float]]:
    """{role: (processes, PSS in MB)}."""
    roles: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for proc in procs:
        try:
            kb = pss_kb(proc.pid)
        except OSError:
            continue
        roles[proc.role][0] += 1
        roles[proc.role][1] += kb / 1024
    return {role: (int(n), mb) for role, (n, mb) in roles.items()}


def cpu_by_role(procs: list[Proc]) -> dict[str, float]:
    """{role: CPU seconds used so far} (processes that exited meanwhile are skipped)."""
    roles: dict[str, float] = defaultdict(float)
    for proc in procs:
        try:
            roles[proc.role] += cpu_seconds(proc.pid)
        except OSError:
            continue
    return dict(roles)

"""Where and when a figure was measured: date, cores, RAM, load average, commit."""

import os
import platform
import subprocess
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ram_gb() -> float:
    """Total RAM in GB (from /proc/meminfo)."""
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    return float("nan")


def load_average() -> str:
    """The 1/5/15-minute load averages: a loaded machine makes every timing slower."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def commit() -> str:
    """The checkout's commit (with -dirty when the work tree differs)."""
    out = subprocess.run(
        ["git", "describe", "--always", "--dirty", "--abbrev=10"], cwd=REPO, capture_output=True, text=True
    )
    return out.stdout.strip() or "unknown"


def describe() -> str:
    """One line: date, machine, Python, commit, load."""
    return (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} CPU cores, "
        f"{ram_gb():.1f} GB RAM; {platform.python_implementation()} {platform.python_version()}; "
        f"commit {commit()}; load average at start {load_average()}"
    )

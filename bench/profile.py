"""CPU profiles of the stack under a send or incoming load, by role (py-spy sampling the thread holding the GIL).

usage: python -m bench.profile send|incoming [--seconds 15] [--top 25]
Writes collapsed stacks to bench/results/profile-<load>-<role>.txt (flame-graph input) and prints
each role's functions by share of its samples: inclusive (the function and what it calls) and self.
"""

import argparse
import os
import subprocess
import sys
import threading
import time
from collections import Counter

from bench import send_bench, webhook_bench
from bench.machine import REPO
from bench.procs import stack_processes
from bench.stack import Stack

PY_SPY = os.path.join(REPO, ".venv", "bin", "py-spy")
OUT = os.path.join(REPO, "bench", "results")


def record(pid: int, seconds: float, path: str) -> subprocess.Popen:
    """py-spy on one process for `seconds`, collapsed stacks to path."""
    return subprocess.Popen(
        [
            PY_SPY,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "250",
            "--format",
            "raw",
            "--output",
            path,
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def summarise(paths: list[str], top: int) -> list[str]:
    """Functions by share of samples across the files (inclusive and self)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for path in paths:
        if not os.path.exists(path):
            continue
        with open(path) as handle:
            for line in handle:
                stack, _, count = line.rstrip().rpartition(" ")
                if not count.isdigit():
                    continue
                n = int(count)
                total += n
                frames = [
                    f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].split("/")[-1] + ")"
                    for f in stack.split(";")
                ]
                for frame in set(frames):
                    inclusive[frame] += n
                own[frames[-1]] += n
    if not total:
        return ["  (no samples)"]
    lines = [f"  {total} samples; inclusive:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    lines.append("  self:")
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    return lines


def main() -> int:
    """Load the stack, profile every process, print the summaries."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("load", choices=["send", "incoming"])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    with Stack("simulator") as stack:
        stack.link(stack.add_instances(1))
        assert stack.process is not None
        procs = [p for p in stack_processes(stack.process.pid, stack.data_dir) if p.role != "redis"]
        if args.load == "send":
            load = threading.Thread(
                target=send_bench.wrk, args=(stack.base, stack.instances[0], 8, args.seconds + 4), daemon=True
            )
        else:
            count = int(args.seconds * 60)
            load = threading.Thread(target=webhook_bench.run, args=(stack, count, 8, 50.0, 1.0), daemon=True)
        load.start()
        time.sleep(2)  # profile the steady state, not the first requests
        os.makedirs(OUT, exist_ok=True)
        paths: dict[str, list[str]] = {}
        spies = []
        for proc in procs:
            path = os.path.join(OUT, f"profile-{args.load}-{proc.role.replace(' ', '-')}-{proc.pid}.txt")
            paths.setdefault(proc.role, []).append(path)
            spies.append(record(proc.pid, args.seconds, path))
        for spy in spies:
            spy.wait()
        load.join(timeout=300)
    for role, files in sorted(paths.items()):
        print(f"== {role}")
        print("\n".join(summarise(files, args.top)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

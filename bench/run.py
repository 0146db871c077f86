"""`make bench`: send, incoming (webhook) and memory figures through the real stack.

usage: python -m bench.run [--quick] [--only send,webhook,memory] [options]
Prints each table as it is measured and writes them all to bench/results/latest.md.
It does not pass or fail anything: it measures.
"""

import argparse
import os
import shutil
import sys
import time

from bench import machine, memory_bench, send_bench, webhook_bench
from bench.stack import Stack

RESULTS = os.path.join(machine.REPO, "bench", "results", "latest.md")


def options() -> argparse.Namespace:
    """Command-line options; --quick shrinks every run for a first look."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="short runs: 3 s per send row, 500-message burst, 0/1/10 instances",
    )
    parser.add_argument("--only", default="send,webhook,memory", help="comma-separated parts to run")
    parser.add_argument("--seconds", type=float, help="seconds per send row (default 8)")
    parser.add_argument("--concurrency", default="1,8,32", help="connections on one instance")
    parser.add_argument(
        "--spread", type=int, default=4, help="instances sending at once for the aggregate row"
    )
    parser.add_argument("--spread-conns", type=int, default=8, help="connections per instance in that row")
    parser.add_argument("--burst", type=int, help="incoming messages in the burst (default 2000)")
    parser.add_argument(
        "--rate", type=float, default=50.0, help="offered incoming messages/s for the latency run"
    )
    parser.add_argument("--rate-seconds", type=float, help="length of the latency run (default 10 s)")
    parser.add_argument("--counts", help="instance counts for memory (default 0,1,10,50)")
    parser.add_argument("--drivers", default="simulator,neonize", help="drivers for memory")
    parser.add_argument("--output", default=RESULTS, help="where to write the Markdown results")
    args = parser.parse_args()
    args.seconds = args.seconds or (3.0 if args.quick else 8.0)
    args.burst = args.burst or (500 if args.quick else 2000)
    args.rate_seconds = args.rate_seconds or (4.0 if args.quick else 10.0)
    args.counts = args.counts or ("0,1,10" if args.quick else "0,1,10,50")
    return args


def emit(lines: list[str], out: list[str]) -> None:
    """Print lines now and keep them for the results file."""
    print("\n".join(lines), flush=True)
    out.extend(lines)


def main() -> int:
    """Run the selected parts; write the results file."""
    args = options()
    parts = {p.strip() for p in args.only.split(",") if p.strip()}
    if "send" in parts and shutil.which("wrk") is None:
        print("bench: the send figures need wrk (apt-get install wrk)", file=sys.stderr)
        return 2
    started = time.monotonic()
    out = [
        "# MegaMsg benchmark (make bench)",
        "",
        machine.describe() + ".",
        f"Options: {' '.join(sys.argv[1:]) or '(defaults)'}. Sessions per runner: "
        f"{os.environ.get('MEGAMSG_SESSIONS_PER_RUNNER', 'the default')}. How to reproduce: bench/README.md.",
        "",
    ]
    print("\n".join(out), flush=True)
    if "send" in parts:
        emit(
            [
                f"## Send (simulator, unpaced; wrk, {args.seconds:g} s per row; ceiling = bare Flask, same gunicorn settings)",
                "",
            ],
            out,
        )
        with Stack("simulator") as stack:
            rows = send_bench.run(
                stack,
                [int(c) for c in args.concurrency.split(",")],
                args.seconds,
                args.spread,
                args.spread_conns,
            )
        emit([*send_bench.table(rows), ""], out)
    if "webhook" in parts:
        emit(["## Incoming messages → signed webhook deliveries (simulator, local receiver)", ""], out)
        with Stack("simulator") as stack:
            results = webhook_bench.run(stack, args.burst, 8, args.rate, args.rate_seconds)
        emit([*webhook_bench.table(results), ""], out)
    if "memory" in parts:
        counts = [int(c) for c in args.counts.split(",")]
        for driver in [d.strip() for d in args.drivers.split(",") if d.strip()]:
            note = " (offline: no network, as on this machine)" if driver == "neonize" else ""
            emit([f"## Memory (PSS by role), {driver} driver{note}", ""], out)
            emit([*memory_bench.table(driver, memory_bench.run(driver, counts)), ""], out)
    emit(
        [
            f"Whole run: {time.monotonic() - started:.0f} s; load average at the end {machine.load_average()}.",
            "",
        ],
        out,
    )
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as handle:
        handle.write("\n".join(out))
    print(f"written to {os.path.relpath(args.output, machine.REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

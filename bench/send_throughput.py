"""Send throughput and latency through the real stack (gunicorn + supervisor + simulator).

Usage: python bench/send_throughput.py [--messages 300] [--concurrency 1,8,32]
Prints figures and writes them to bench/results/latest.md; it does not pass or fail anything.
"""

import argparse
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from megamsg.config import load_config  # noqa: E402
from megamsg.store.accounts import create_user  # noqa: E402
from megamsg.store.db import connect, migrate  # noqa: E402
from megamsg.store.instances import create_instance  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], object], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the stack")
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--concurrency", default="1,8,32")
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="megamsg-bench-")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEGAMSG_")}
    env.update(
        MEGAMSG_DATA_DIR=data_dir,
        MEGAMSG_WHATSAPP_DRIVER="simulator",
        MEGAMSG_RATE_LIMIT_PER_MINUTE="0",
        MEGAMSG_MIN_INTERVAL_MS="0",  # the stack's own speed, not the pacing that protects a number
        MEGAMSG_BIND=f"127.0.0.1:{port}",
    )
    os.environ.update(env)
    config = load_config()
    migrate(config["DATABASE"])
    db = connect(config["DATABASE"])
    user = create_user(db, "bench@example.com", "benchmark-password")
    instance, token = create_instance(db, user["id"], "Bench")
    headers = {"Authorization": f"Bearer {token}", "X-Instance-Id": instance["id"]}

    launcher = subprocess.Popen(
        [sys.executable, "-m", "megamsg.runtime.launch"],
        cwd=REPO,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    session = requests.Session()
    try:

        def status() -> str | None:
            try:
                return session.get(base + "/api/whatsapp/instance", headers=headers, timeout=2).json()[
                    "status"
                ]
            except requests.RequestException:
                return None

        wait_until(lambda: status() == "qr", 60)
        session.post(
            base + "/api/simulator/scan", headers=headers, json={"phone_number": "+201000000001"}, timeout=10
        )
        wait_until(lambda: status() == "connected", 10)

        def send(n: int) -> float:
            started = time.perf_counter()
            response = requests.post(
                base + "/api/whatsapp/messages/send",
                headers=headers,
                json={"phone_number": "+201234567890", "text": f"bench {n}"},
                timeout=60,
            )
            response.raise_for_status()
            return time.perf_counter() - started

        print(
            f"MegaMsg send benchmark: {args.messages} text messages per run, simulator driver, gunicorn gthread"
        )
        print(f"{'concurrency':>11} {'msgs/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        rows = []
        for concurrency in [int(c) for c in args.concurrency.split(",")]:
            started = time.perf_counter()
            with ThreadPoolExecutor(concurrency) as pool:
                latencies = sorted(pool.map(send, range(args.messages)))
            elapsed = time.perf_counter() - started
            p95 = latencies[int(len(latencies) * 0.95) - 1]
            row = (
                concurrency,
                args.messages / elapsed,
                statistics.median(latencies) * 1000,
                p95 * 1000,
                latencies[-1] * 1000,
            )
            rows.append(row)
            print(f"{row[0]:>11} {row[1]:>8.1f} {row[2]:>8.1f} {row[3]:>8.1f} {row[4]:>8.1f}")
        write_results(args.messages, rows)
    finally:
        os.killpg(launcher.pid, signal.SIGINT)
        launcher.wait(timeout=30)


def write_results(messages: int, rows: list[tuple[int, float, float, float, float]]) -> None:
    """bench/results/latest.md: the figures with when, what and where they were measured."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    lines = [
        "# Send benchmark (bench/send_throughput.py)",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit or 'unknown'}, "
        f"{os.cpu_count()} CPU(s), {platform.python_implementation()} {platform.python_version()}; "
        f"{messages} synchronous text sends per row through gunicorn, Redis, the runner and the simulator.",
        "",
        "| concurrency | msgs/s | p50 ms | p95 ms | max ms |",
        "|---:|---:|---:|---:|---:|",
        *(f"| {c} | {rate:.1f} | {p50:.1f} | {p95:.1f} | {peak:.1f} |" for c, rate, p50, p95, peak in rows),
        "",
    ]
    path = os.path.join(REPO, "bench", "results", "latest.md")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write("\n".join(lines))
    print(f"written to {os.path.relpath(path, REPO)}")


if __name__ == "__main__":
    main()

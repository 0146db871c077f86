"""Incoming path, end to end: simulated incoming message → events job → signed webhook POST → receiver.

The receiver checks every signature (standardwebhooks, the reference library) and counts each
message's deliveries, so a loss or a duplicate shows in the figures.
"""

import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from standardwebhooks import Webhook, WebhookVerificationError

from bench.procs import cpu_by_role, stack_processes
from bench.stack import Stack, wait_until


class Receiver:
    """A local webhook receiver: verifies signatures, notes each message's first arrival and its count."""

    def __init__(self, secret: str):
        self.verifier = Webhook(secret)
        self.lock = threading.Lock()
        self.first: dict[str, float] = {}
        self.count: Counter[str] = Counter()
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a production receiver would allow

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.perf_counter()
                receiver.received(raw, dict(self.headers.items()), now)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def received(self, raw: bytes, headers: dict[str, str], now: float) -> None:
        """Verify and count one delivery."""
        try:
            self.verifier.verify(raw, {k.lower(): v for k, v in headers.items()})
        except WebhookVerificationError:
            with self.lock:
                self.bad_signatures += 1
            return
        text = (json.loads(raw).get("message") or {}).get("text") or ""
        with self.lock:
            self.count[text] += 1
            self.first.setdefault(text, now)

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()


@dataclass
class Result:
    """One phase: what was injected, what arrived, how fast."""

    label: str
    injected: int
    inject_seconds: float
    delivered: int
    duplicates: int
    bad_signatures: int
    seconds: float  # first injection to last delivery
    p50_ms: float
    p99_ms: float
    cpu_ms: dict[str, float]  # CPU ms per message, by role

    @property
    def rate(self) -> float:
        """Deliveries per second, first injection to last delivery."""
        return self.delivered / self.seconds if self.seconds > 0 else float("nan")


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return values[min(len(values) - 1, int(p * len(values)))] if values else float("nan")


def _phase(
    stack: Stack, receiver: Receiver, label: str, prefix: str, count: int, threads: int, rate: float | None
) -> Result:
    """Inject count messages (as fast as threads allow, or paced at rate/s); wait for them all."""
    instance = stack.instances[0]
    headers = stack.headers(instance)
    local = threading.local()
    sent_at: dict[str, float] = {}
    assert stack.process is not None
    procs = stack_processes(stack.process.pid, stack.data_dir)
    before = cpu_by_role(procs)
    start = time.perf_counter()

    def inject(i: int) -> None:
        if rate is not None:  # open loop: each message has its slot, whatever the previous ones did
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        text = f"{prefix}-{i}"
        sent_at[text] = time.perf_counter()
        answer = session.post(
            stack.base + "/api/simulator/incoming",
            headers=headers,
            json={"from": "+201111111111", "push_name": "Bench", "text": text},
            timeout=60,
        )
        answer.raise_for_status()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(inject, range(count)))
    injected_in = time.perf_counter() - start
    texts = [f"{prefix}-{i}" for i in range(count)]

    def arrived() -> bool:
        with receiver.lock:
            return all(text in receiver.first for text in texts)

    try:
        wait_until(arrived, 120 + count / 20, f"{count} webhook deliveries")
    except SystemExit:
        pass  # reported as lost below
    time.sleep(1.0)  # a late duplicate would show up here; nothing waits on it
    after = cpu_by_role(procs)
    with receiver.lock:
        got = [t for t in texts if t in receiver.first]
        latencies = sorted((receiver.first[t] - sent_at[t]) * 1000 for t in got)
        last = max((receiver.first[t] for t in got), default=start)
        duplicates = sum(receiver.count[t] - 1 for t in got)
        bad = receiver.bad_signatures
    return Result(
        label,
        count,
        injected_in,
        len(got),
        duplicates,
        bad,
        last - start,
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
        {
            role: (after[role] - before.get(role, 0.0)) * 1000 / count
            for role in after
            if after[role] - before.get(role, 0.0) > 0.0
        },
    )


def run(stack: Stack, burst: int, threads: int, rate: float, seconds: float) -> list[Result]:
    """The burst, then the paced run, on the stack's first (linked) instance."""
    if not stack.instances:
        stack.link(stack.add_instances(1))
    instance = stack.instances[0]
    receiver = Receiver(stack.webhook_secret(instance))
    try:
        answer = stack.http.put(
            stack.base + "/api/whatsapp/instance/webhook",
            headers=stack.headers(instance),
            json={"url": receiver.url},
            timeout=10,
        )
        answer.raise_for_status()
        results = [
            _phase(
                stack,
                receiver,
                f"burst of {burst}, {threads} injecting threads",
                "burst",
                burst,
                threads,
                None,
            )
        ]
        paced = max(1, int(rate * seconds))
        results.append(_phase(stack, receiver, f"{paced} at {rate:g}/s offered", "paced", paced, 16, rate))
        return results
    finally:
        receiver.close()


def table(results: list[Result]) -> list[str]:
    """Markdown rows for the incoming path."""
    lines = [
        "| run | injected in s | delivered | lost | duplicates | bad signatures | deliveries/s | p50 ms | p99 ms | CPU ms/message by role |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        cpu = ", ".join(
            f"{role} {ms:.2f}" for role, ms in sorted(r.cpu_ms.items(), key=lambda kv: -kv[1]) if ms >= 0.01
        )
        lines.append(
            f"| {r.label} | {r.inject_seconds:.2f} | {r.delivered} | {r.injected - r.delivered} | {r.duplicates} "
            f"| {r.bad_signatures} | {r.rate:.0f} | {r.p50_ms:.0f} | {r.p99_ms:.0f} | total {sum(r.cpu_ms.values()):.2f}: {cpu} |"
        )
    return lines

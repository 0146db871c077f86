"""Send throughput and latency (wrk), beside the bare-Flask ceiling under the same gunicorn settings.

Besides wall-clock figures (which a busy machine distorts), each row gives the CPU time the
stack's processes used per request, by role: that figure holds up on a loaded machine.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bench.machine import REPO
from bench.procs import Proc, cpu_by_role, stack_processes
from bench.stack import Stack, free_port, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
SEND_PATH = "/api/whatsapp/messages/send"


@dataclass
class Row:
    """One wrk run (or several at once, summed)."""

    label: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    cpu_ms: dict[str, float] = field(default_factory=dict)  # CPU ms per request, by role


def wrk(url: str, instance: dict[str, str], conns: int, seconds: float) -> dict:
    """One wrk run posting text sends; its JSON summary (rps, p50_ms, p99_ms, requests, errors)."""
    env = {**os.environ, "TOKEN": instance["token"], "INSTANCE": instance["instance_id"]}
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{conns}",
            f"-d{seconds:g}s",
            "--timeout",
            "60s",
            "-s",
            os.path.join(HERE, "send.lua"),
            url + SEND_PATH,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measured(
    label: str, procs: list[Proc], runs: list[tuple[str, dict[str, str]]], conns: int, seconds: float
) -> Row:
    """Run one wrk per (url, instance) at once; sum throughput, worst p50/p99, CPU per request by role."""
    before = cpu_by_role(procs)
    with ThreadPoolExecutor(len(runs)) as pool:
        results = list(pool.map(lambda run: wrk(run[0], run[1], conns, seconds), runs))
    after = cpu_by_role(procs)
    requests = sum(r["requests"] for r in results)
    cpu = {role: (after[role] - before.get(role, 0.0)) * 1000 / max(1, requests) for role in after}
    return Row(
        label,
        sum(r["rps"] for r in results),
        max(r["p50_ms"] for r in results),
        max(r["p99_ms"] for r in results),
        requests,
        sum(r["errors"] for r in results),
        {role: ms for role, ms in cpu.items() if ms >= 0.005},
    )


class Ceiling:
    """bench/ceiling_app.py under gunicorn with the project's gunicorn.conf.py."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tmp = tempfile.mkdtemp(prefix="megamsg-ceiling-")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEGAMSG_")}
        # PYTHONPATH: gunicorn.conf.py's hooks import megamsg; the app itself is bench/ceiling_app.py.
        env.update(MEGAMSG_BIND=f"127.0.0.1:{self.port}", MEGAMSG_DATA_DIR=self.tmp, PYTHONPATH=REPO)
        for name in ("WEB_CONCURRENCY", "MEGAMSG_WEB_THREADS"):
            if name in os.environ:
                env[name] = os.environ[name]
        self.log = open(os.path.join(self.tmp, "ceiling.log"), "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                os.path.join(REPO, ".venv", "bin", "gunicorn"),
                "-c",
                os.path.join(REPO, "gunicorn.conf.py"),
                "ceiling_app:app",
            ],
            cwd=HERE,
            env=env,
            start_new_session=True,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_until(self._up, 30, "the ceiling app")

    def _up(self) -> bool:
        import requests

        try:
            requests.get(self.url + "/", timeout=1)
            return True
        except requests.RequestException:
            return False

    def processes(self) -> list[Proc]:
        """The ceiling's gunicorn master and workers."""
        return [Proc(p.pid, "gunicorn") for p in stack_processes(self.process.pid, "")]

    def stop(self) -> None:
        """Stop gunicorn (master and workers)."""
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=60)
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def run(
    stack: Stack, concurrencies: list[int], seconds: float, spread: int, spread_conns: int
) -> list[tuple[Row, Row]]:
    """(project, ceiling) rows: one instance at each concurrency, then `spread` instances at once."""
    assert stack.process is not None
    have = len(stack.instances)
    if have < max(1, spread):
        stack.link(stack.add_instances(max(1, spread) - have))
    procs = stack_processes(stack.process.pid, stack.data_dir)
    ceiling = Ceiling()
    try:
        ceiling_procs = ceiling.processes()
        first = stack.instances[0]
        rows = []
        for conns in concurrencies:
            project = measured(f"1 instance, {conns} conn", procs, [(stack.base, first)], conns, seconds)
            roof = measured(
                f"1 instance, {conns} conn", ceiling_procs, [(ceiling.url, first)], conns, seconds
            )
            rows.append((project, roof))
            time.sleep(0.5)
        if spread > 1:
            label = f"{spread} instances × {spread_conns} conn"
            many = stack.instances[:spread]
            project = measured(label, procs, [(stack.base, i) for i in many], spread_conns, seconds)
            roof = measured(label, ceiling_procs, [(ceiling.url, i) for i in many], spread_conns, seconds)
            rows.append((project, roof))
        return rows
    finally:
        ceiling.stop()


def table(rows: list[tuple[Row, Row]]) -> list[str]:
    """Markdown: project beside ceiling, with the ratio and CPU per request."""
    lines = [
        "| load | MegaMsg msg/s | p50 ms | p99 ms | errors | ceiling req/s | ceiling p50 ms | ratio | CPU ms/send by role | ceiling CPU ms/req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for project, roof in rows:
        cpu = ", ".join(
            f"{role} {ms:.2f}" for role, ms in sorted(project.cpu_ms.items(), key=lambda kv: -kv[1])
        )
        total = sum(project.cpu_ms.values())
        lines.append(
            f"| {project.label} | {project.rps:.0f} | {project.p50_ms:.1f} | {project.p99_ms:.1f} | {project.errors} "
            f"| {roof.rps:.0f} | {roof.p50_ms:.1f} | {project.rps / max(roof.rps, 1e-9):.2f} "
            f"| total {total:.2f}: {cpu} | {sum(roof.cpu_ms.values()):.2f} |"
        )
    return lines

"""Proportional memory (PSS, from /proc/<pid>/smaps_rollup) of the running stack by role, at 0..N instances."""

import time

from bench.procs import pss_by_role, stack_processes
from bench.stack import Stack

SETTLE_SECONDS = 3.0  # after the sessions started: imports and first allocations are over


def run(driver: str, counts: list[int]) -> dict[int, dict[str, tuple[int, float]]]:
    """{instances: {role: (processes, MB)}} on a fresh stack, adding instances up to each count."""
    figures = {}
    with Stack(driver) as stack:
        assert stack.process is not None
        for count in sorted(counts):
            added = stack.add_instances(count - len(stack.instances))
            stack.wait_started(added or stack.instances)
            time.sleep(SETTLE_SECONDS)
            figures[count] = pss_by_role(stack_processes(stack.process.pid, stack.data_dir))
    return figures


def table(driver: str, figures: dict[int, dict[str, tuple[int, float]]]) -> list[str]:
    """Markdown: MB (processes) per role and count; the total; MB per instance above the empty stack."""
    counts = sorted(figures)
    roles = sorted({role for roles in figures.values() for role in roles})
    lines = [
        f"| role ({driver}) | " + " | ".join(f"{n} instances" for n in counts) + " |",
        "|---|" + "---:|" * len(counts),
    ]
    for role in roles:
        cells = []
        for n in counts:
            procs, mb = figures[n].get(role, (0, 0.0))
            cells.append(f"{mb:.1f} MB ({procs})" if procs else "–")
        lines.append(f"| {role} | " + " | ".join(cells) + " |")
    totals = {n: sum(mb for _, mb in figures[n].values()) for n in counts}
    lines.append("| **total** | " + " | ".join(f"**{totals[n]:.1f} MB**" for n in counts) + " |")
    base = totals.get(0)
    if base is not None:
        lines.append(
            "| per instance above 0 | "
            + " | ".join("–" if n == 0 else f"{(totals[n] - base) / n:.1f} MB" for n in counts)
            + " |"
        )
    return lines

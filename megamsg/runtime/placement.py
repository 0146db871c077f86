"""Which runner process hosts which instance: spread evenly, and never moved once placed."""

import math


def place(current: dict[int, set[str]], desired: set[str], per_runner: int) -> dict[int, set[str]]:
    """The new assignment (runner slot → instances) for the desired instances.

    Instances keep their runner (moving one would restart its session); deleted ones leave it.
    New ones go to the least loaded runner with room, after opening as many runners as
    ceil(instances / per_runner) asks for, so N instances start spread over that many runners.
    """
    per_runner = max(1, per_runner)
    placed = {slot: ids & desired for slot, ids in current.items()}
    placed = {slot: ids for slot, ids in placed.items() if ids}
    new = sorted(desired - set().union(*placed.values()))
    wanted = math.ceil(len(desired) / per_runner)
    slot = 0
    while len(placed) < wanted:
        while slot in placed:
            slot += 1
        placed[slot] = set()
    for instance_id in new:
        room = [s for s, ids in placed.items() if len(ids) < per_runner]
        if not room:
            slot = next(s for s in range(len(placed) + 1) if s not in placed)
            placed[slot] = set()
            room = [slot]
        target = min(room, key=lambda s: (len(placed[s]), s))
        placed[target].add(instance_id)
    return {slot: ids for slot, ids in placed.items() if ids}

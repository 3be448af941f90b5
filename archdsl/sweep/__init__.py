"""Search spaces: specs with `choice(...)` and `range(...)`, swept statically.

`Space(path)` finds the choice points; `sweep(space, ...)` enumerates (or
samples) the candidates, prunes them by budget and returns their figures and
the Pareto front of parameters, MACs and memory; `concrete_spec(space, id)`
writes one candidate as a spec. docs/language.md#search-spaces has the
language side, docs/explain.md the command."""
from __future__ import annotations

import random
import sys
import time

from archdsl.records import dataclass, field
from archdsl.sweep.evaluate import Candidate, Evaluator
from archdsl.sweep.pareto import DEFAULT, pareto_front, parse_objectives
from archdsl.sweep.pick import concrete_spec
from archdsl.sweep.space import Site, Space

__all__ = ["Candidate", "Evaluator", "Site", "Space", "SweepResult", "concrete_spec", "pareto_front",
           "parse_objectives", "sweep"]


@dataclass(slots=True)
class SweepResult:
    """Every candidate evaluated, how many were pruned or invalid, and the front."""

    space: Space
    candidates: list[Candidate] = field(default_factory=list)  # valid and within budget
    pruned: int = 0
    invalid: list[Candidate] = field(default_factory=list)
    duplicates: int = 0
    seconds: float = 0.0
    front: list[Candidate] = field(default_factory=list)

    @property
    def evaluated(self) -> int:
        return len(self.candidates) + self.pruned + len(self.invalid)

    @property
    def rate(self) -> float:
        return (self.evaluated + self.duplicates) / self.seconds if self.seconds else 0.0


class Progress:
    """One line on stderr, rewritten at most ten times a second."""

    def __init__(self, total: int, stream=None, enabled: bool | None = None):
        self.total, self.stream = total, stream or sys.stderr
        self.enabled = enabled if enabled is not None else getattr(self.stream, "isatty", lambda: False)()
        self.start = self.last = time.perf_counter()

    def update(self, done: int, front: int) -> None:
        now = time.perf_counter()
        if not self.enabled or (now - self.last < 0.1 and done < self.total):
            return
        self.last = now
        rate = done / (now - self.start) if now > self.start else 0.0
        width = 30
        filled = int(width * done / self.total) if self.total else width
        eta = (self.total - done) / rate if rate else 0.0
        self.stream.write(f"\rsweep [{'#' * filled}{'.' * (width - filled)}] {done:,}/{self.total:,} "
                          f"{rate:,.0f}/s  eta {eta:4.0f} s  front {front:,}   ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def candidate_ids(space: Space, samples: int | None, seed: int = 0, limit: int = 1_000_000):
    """Every ID in order, or `samples` distinct random ones."""
    if samples is None:
        if space.size > limit:
            raise ValueError(f"the space has {space.size:,} candidates, more than {limit:,} to enumerate; "
                             f"sample it with --samples N (or raise --limit)")
        return range(space.size)
    rng = random.Random(seed)
    if samples >= space.size:
        return range(space.size)
    seen: set[int] = set()
    while len(seen) < samples:
        seen.add(rng.randrange(space.size))
    return sorted(seen)


def sweep(space: Space, ids, evaluator: Evaluator, max_params: int | None = None, max_macs: int | None = None,
          max_memory: int | None = None, progress: Progress | None = None, objectives=DEFAULT) -> SweepResult:
    """Evaluate the candidates `ids`, prune by the budgets, and find the front."""
    result = SweepResult(space)
    start = time.perf_counter()
    for k, cid in enumerate(ids, start=1):
        c = evaluator.evaluate(cid)
        if c is None:
            result.duplicates += 1
        elif c.error is not None:
            result.invalid.append(c)
        elif (max_params is not None and c.params > max_params) or (max_macs is not None and c.macs > max_macs) \
                or (max_memory is not None and c.memory > max_memory):
            result.pruned += 1
        else:
            result.candidates.append(c)
        if progress is not None:
            progress.update(k, len(result.candidates))
    result.seconds = time.perf_counter() - start
    if progress is not None:
        progress.close()
    result.front = pareto_front(result.candidates, objectives)
    return result

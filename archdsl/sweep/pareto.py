"""The Pareto front of candidates: none of the others is at least as good on
every objective and better on one.

Objectives are the figures with a direction: `params+` (more is better:
parameters stand in for capacity), `macs-`, `memory-` (less is better). The
default front, params+ macs- memory-, holds for each budget of compute and
memory the networks with the most parameters; `params-` instead minimises all
three, where the smallest candidate dominates unless the choices trade one
figure against another."""
from __future__ import annotations

FIGURES = ("params", "macs", "memory")
DEFAULT = (("params", 1), ("macs", -1), ("memory", -1))


def parse_objectives(text: str) -> tuple[tuple[str, int], ...]:
    """`params+,macs-,memory-` -> ((name, +1 maximise / -1 minimise), ...)."""
    out = []
    for item in (t.strip() for t in text.split(",") if t.strip()):
        name, sign = item.rstrip("+-"), item[-1]
        if name not in FIGURES or sign not in "+-":
            raise ValueError(f"objective {item!r}: write a figure ({', '.join(FIGURES)}) and + (more is better) "
                             "or - (less is better), e.g. params+,macs-,memory-")
        out.append((name, 1 if sign == "+" else -1))
    if len(out) < 2 or len({n for n, _ in out}) != len(out):
        raise ValueError("a front needs two or three different figures, e.g. params+,macs-")
    return tuple(out)


def pareto_front(candidates: list, objectives=DEFAULT) -> list:
    """The non-dominated candidates, ordered by the first objective."""
    def cost(c):  # everything to minimise
        return tuple(-getattr(c, name) * sign for name, sign in objectives)

    ordered = sorted(candidates, key=lambda c: (cost(c), c.id))
    front, costs = [], []
    for c in ordered:
        k = cost(c)
        if any(all(a <= b for a, b in zip(f[1:], k[1:], strict=True)) for f in costs):
            continue  # no worse on the first (sorted) and no worse on the rest: dominated or equal
        front.append(c)
        costs.append(k)
    return front

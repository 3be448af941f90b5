"""The sweep's figure: every candidate's parameters against its MACs, coloured
by memory, the Pareto front drawn over them with its IDs (matplotlib, PNG)."""
from __future__ import annotations

from archdsl.errors import UsageError
from archdsl.text import count_text, human_bytes

LABELLED = 12  # front members named on the figure


def plot_front(result, path: str, title: str = "") -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'archdsl[sweep]'") from None
    cands, front = result.candidates, result.front
    fig, ax = plt.subplots(figsize=(8, 5.2), dpi=150)
    if cands:
        sc = ax.scatter([c.params for c in cands], [c.macs for c in cands], c=[c.memory / 2**20 for c in cands],
                        s=9, cmap="viridis", alpha=0.55, linewidths=0)
        bar = fig.colorbar(sc, ax=ax)
        bar.set_label("memory (MiB)")
        pts = sorted(front, key=lambda c: c.params)
        ax.scatter([c.params for c in pts], [c.macs for c in pts], s=36, facecolors="none", edgecolors="#C2185B",
                   linewidths=1.3, label=f"Pareto front ({len(front)})")
        step = max(len(pts) // LABELLED, 1)
        for c in pts[::step][:LABELLED]:
            ax.annotate(str(c.id), (c.params, c.macs), textcoords="offset points", xytext=(4, 4), fontsize=7,
                        color="#C2185B")
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.set_xscale("log")
    ax.set_yscale("log")
    counts = matplotlib.ticker.FuncFormatter(lambda v, _: count_text(round(v)))
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(counts)
        axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("parameters")
    ax.set_ylabel("MACs")
    best = min(cands, key=lambda c: c.memory).memory if cands else 0
    ax.set_title(title or f"{result.space.network.name}: {len(cands):,} candidates (least memory "
                          f"{human_bytes(best)})", fontsize=10)
    ax.grid(True, which="both", alpha=0.2)
    fig.tight_layout()
    from archdsl.atomic import check_writable
    fig.savefig(check_writable(path), format="png")
    plt.close(fig)

"""Learning curves as a PNG: loss and accuracy per epoch, training against
validation, the best epoch marked; the learning rate too when it changed.

matplotlib's object API with the Agg canvas: no display, no pyplot state,
safe in a headless CI job or a worker process."""
from __future__ import annotations

import io
from pathlib import Path

from .metrics import write_text

TRAIN_COLOUR, VAL_COLOUR, BEST_COLOUR = "#1f77b4", "#d62728", "#555555"


def render_png(history: list[dict], title: str, *, loss_name: str = "cross-entropy") -> bytes:
    """The figure for `history` (rows as the loop makes them), as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    epochs = [row["epoch"] for row in history]
    has_val = any(row.get("val_loss") is not None for row in history)
    lrs = [row["lr"] for row in history]
    show_lr = len(set(lrs)) > 1
    panels = 3 if show_lr else 2
    fig = Figure(figsize=(4.6 * panels, 4.0), dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, panels)
    fig.suptitle(title, fontsize=13)
    best = next((row["epoch"] for row in reversed(history) if row.get("best")), None)

    loss_ax, acc_ax = axes[0], axes[1]
    _plot(loss_ax, epochs, history, "loss", has_val)
    loss_ax.set(title="Loss", xlabel="epoch", ylabel=f"loss ({loss_name})")
    _plot(acc_ax, epochs, history, "acc", has_val, scale=100)
    acc_ax.set(title="Accuracy", xlabel="epoch", ylabel="accuracy (%)")
    acc_ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    if show_lr:
        lr_ax = axes[2]
        lr_ax.plot(epochs, lrs, marker="o", markersize=3, color="#2ca02c")
        lr_ax.set(title="Learning rate", xlabel="epoch", ylabel="learning rate (at epoch start)")
        if max(lrs) / max(min(lrs), 1e-30) > 100:  # step decays read best on a log scale
            lr_ax.set_yscale("log")
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        if best is not None and len(epochs) > 1:
            ax.axvline(best, color=BEST_COLOUR, linestyle=":", linewidth=1)
    if best is not None and len(epochs) > 1:
        acc_ax.plot([], [], color=BEST_COLOUR, linestyle=":", label=f"best (epoch {best})")
    if best is not None and has_val:
        # The figure a lecture quotes: the best epoch's validation accuracy, on the curve.
        value = history[epochs.index(best)]["val_acc"] * 100
        acc_ax.plot([best], [value], marker="o", markersize=8, markerfacecolor="none", color=VAL_COLOUR)
        acc_ax.annotate(f"{value:.1f}%", (best, value), textcoords="offset points", xytext=(-7, -7),
                        ha="right", va="top", color=VAL_COLOUR, fontsize=9,
                        bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"})
    for ax in (loss_ax, acc_ax):
        ax.legend(loc="best", frameon=False)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def _plot(ax, epochs, history, metric, has_val, scale=1.0):
    marker = "o" if len(epochs) <= 30 else None
    ax.plot(epochs, [row[f"train_{metric}"] * scale for row in history], marker=marker, markersize=3,
            color=TRAIN_COLOUR, label="training")
    if has_val:
        ax.plot(epochs, [row[f"val_{metric}"] * scale for row in history], marker=marker, markersize=3,
                color=VAL_COLOUR, label="validation")


def write_png(path: Path, history: list[dict], title: str) -> None:
    write_text(path, render_png(history, title))

"""The end of a run: a classification report and a confusion matrix
(scikit-learn), as text for the terminal and as one self-contained HTML page
beside the checkpoint (curves embedded, no external files or scripts)."""
from __future__ import annotations

import base64
import html

import numpy as np

from archdsl.records import dataclass


@dataclass
class Classification:
    """Per-class precision/recall/F1/support, the averages and the confusion matrix."""
    classes: list[str]
    rows: dict            # scikit-learn's output_dict
    matrix: np.ndarray    # rows: true class, columns: predicted class
    text: str             # scikit-learn's text report

    @property
    def accuracy(self) -> float:
        return float(self.rows["accuracy"])


def classify(y_true, y_pred, classes: list[str]) -> Classification:
    from sklearn.metrics import classification_report, confusion_matrix
    labels = list(range(len(classes)))
    options = dict(labels=labels, target_names=classes, zero_division=0)
    rows = classification_report(y_true, y_pred, output_dict=True, **options)
    if "accuracy" not in rows:  # scikit-learn leaves it out when labels are a subset
        rows["accuracy"] = float(np.mean(np.asarray(y_true) == np.asarray(y_pred))) if len(y_true) else 0.0
    text = classification_report(y_true, y_pred, digits=3, **options)
    return Classification(classes, rows, confusion_matrix(y_true, y_pred, labels=labels), text)


def confusion_text(c: Classification) -> str:
    """The matrix with class names on both axes (rows true, columns predicted)."""
    names = [str(n) for n in c.classes]
    width = max([len(n) for n in names] + [len(str(int(c.matrix.max()))) if c.matrix.size else 1, 4])
    head = " " * (width + 2) + " ".join(f"{n[:width]:>{width}}" for n in names)
    lines = ["confusion matrix (rows: true class, columns: predicted)", head]
    for name, row in zip(names, c.matrix, strict=True):
        lines.append(f"{name[:width]:>{width}}  " + " ".join(f"{int(v):>{width}}" for v in row))
    return "\n".join(lines)


def text_report(c: Classification, title: str) -> str:
    return f"{title}\n\n{c.text.rstrip()}\n\n{confusion_text(c)}\n"


# -- HTML ---------------------------------------------------------------------------

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 70em; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: .2em; } h2 { font-size: 1.15em; margin-top: 1.8em; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: .5em 0; font-variant-numeric: tabular-nums; }
th, td { padding: .25em .6em; border-bottom: 1px solid #e3e3e3; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 2px solid #999; }
tr.avg td { color: #555; } tr.best td { font-weight: 600; }
table.cm td { min-width: 2.6em; text-align: center; border: 1px solid #fff; }
table.cm th { text-align: center; }
dl { display: grid; grid-template-columns: max-content auto; gap: .15em 1em; }
dt { color: #666; } dd { margin: 0; }
img { max-width: 100%; }
code { font-size: .95em; }
"""


def html_report(*, title: str, facts: list[tuple[str, str]], settings: list[str], curves_png: bytes | None,
                history: list[dict], classification: Classification | None, evaluated_on: str) -> str:
    """The training report page."""
    parts = [f"<h1>{_e(title)}</h1>", _facts(facts)]
    if settings:
        parts.append("<h2>Training settings</h2><pre>" + _e("\n".join(settings)) + "</pre>")
    if curves_png:
        parts.append("<h2>Learning curves</h2><img alt='learning curves' src='data:image/png;base64,"
                     + base64.b64encode(curves_png).decode() + "'>")
    if classification is not None:
        parts.append(f"<h2>Classification report</h2><p class='sub'>{_e(evaluated_on)}</p>")
        parts.append(_classification_table(classification))
        parts.append("<h2>Confusion matrix</h2><p class='sub'>rows: true class, columns: predicted class; "
                     "shading: share of the true class</p>")
        parts.append(_confusion_table(classification))
    if history:
        parts.append("<h2>Epochs</h2>" + _history_table(history))
    body = "\n".join(parts)
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
            f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n")


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _facts(facts) -> str:
    return "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts) + "</dl>"


def _classification_table(c: Classification) -> str:
    head = "<thead><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr></thead>"
    rows = []
    for name in c.classes:
        r = c.rows[str(name)]
        rows.append(f"<tr><td>{_e(name)}</td>{_cells(r)}</tr>")
    total = int(sum(c.rows[str(n)]["support"] for n in c.classes))
    rows.append(f"<tr class='avg'><td>accuracy</td><td></td><td></td><td>{c.accuracy:.3f}</td>"
                f"<td>{total:,}</td></tr>")
    for avg in ("macro avg", "weighted avg"):
        if avg in c.rows:
            rows.append(f"<tr class='avg'><td>{avg}</td>{_cells(c.rows[avg])}</tr>")
    return f"<table>{head}<tbody>{''.join(rows)}</tbody></table>"


def _cells(r: dict) -> str:
    return (f"<td>{r['precision']:.3f}</td><td>{r['recall']:.3f}</td><td>{r['f1-score']:.3f}</td>"
            f"<td>{int(r['support']):,}</td>")


def _confusion_table(c: Classification) -> str:
    names = [_e(n) for n in c.classes]
    head = "<tr><th>true \\ predicted</th>" + "".join(f"<th>{n}</th>" for n in names) + "</tr>"
    rows = []
    for name, row in zip(names, c.matrix, strict=True):
        total = row.sum() or 1
        cells = []
        for v in row:
            share = v / total
            colour = f"rgba(31, 119, 180, {share:.3f})"
            ink = "#fff" if share > 0.55 else "#222"
            cells.append(f"<td style='background:{colour};color:{ink}' title='{share:.1%}'>{int(v)}</td>")
        rows.append(f"<tr><th>{name}</th>{''.join(cells)}</tr>")
    return f"<table class='cm'><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def _history_table(history: list[dict]) -> str:
    has_val = any(r.get("val_loss") is not None for r in history)
    cols = ["epoch", "lr", "train loss", "train acc"] + (["val loss", "val acc"] if has_val else []) + \
        ["samples/s", "time"]
    head = "<thead><tr>" + "".join(f"<th>{c}</th>" for c in cols) + "</tr></thead>"
    rows = []
    for r in history:
        cells = [str(r["epoch"]), f"{r['lr']:.3g}", f"{r['train_loss']:.4f}", f"{r['train_acc']:.2%}"]
        if has_val:
            cells += [f"{r['val_loss']:.4f}", f"{r['val_acc']:.2%}"]
        cells += [f"{r['samples_per_s']:,.0f}", f"{r['time_s']:.1f} s"]
        cls = " class='best'" if r.get("best") else ""
        rows.append(f"<tr{cls}>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    note = "<p class='sub'>bold: epochs that improved on the best so far</p>"
    return f"<table>{head}<tbody>{''.join(rows)}</tbody></table>{note}"

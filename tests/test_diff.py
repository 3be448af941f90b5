"""`archdsl diff`: the alignment pairs renamed layers, finds inserted and
removed ones and reports what changed and the totals; golden output for the
lecture's question (what does removing LRN do?)."""
from __future__ import annotations

import json

import archdsl
from archdsl.backends.diff import diff_networks, render
from archdsl.backends.diff.align import Change
from tests.conftest import ROOT

BASE = "network N {\n  input 3x32x32\n  conv 16 k=3 p=1\n  relu\n  maxpool k=2\n  conv 32 k=3 p=1\n  relu\n  gap\n" \
       "  flatten\n  fc 10\n}\n"


def _changes(a: str, b: str):
    return [(r.a.name if r.a else None, r.b.name if r.b else None, r.change)
            for r in diff_networks(archdsl.loads(a), archdsl.loads(b))]


def test_identical_networks_are_the_same_row_by_row():
    assert all(c == Change.SAME for _, _, c in _changes(BASE, BASE))


def test_a_renamed_label_pairs_up():
    rows = _changes(BASE, BASE.replace("  conv 32", "  head: conv 32"))
    assert ("conv2", "head", Change.RENAMED) in rows and len(rows) == 9


def test_inserted_and_removed_layers_shift_nothing():
    rows = _changes(BASE, BASE.replace("  maxpool k=2\n", "  bn\n  maxpool k=2\n  dropout 0.1\n"))
    assert [c for _, _, c in rows].count(Change.ADDED) == 2
    assert all(c in (Change.SAME, Change.ADDED) for _, _, c in rows)
    rows = _changes(BASE, BASE.replace("  relu\n  maxpool", "  maxpool"))
    assert [(a, b, c) for a, b, c in rows if c != Change.SAME] == [("relu1", None, Change.REMOVED),
                                                                   ("relu2", "relu1", Change.RENAMED)]


def test_a_changed_layer_and_what_follows_from_it():
    a, b = archdsl.loads(BASE), archdsl.loads(BASE.replace("conv 16 k=3 p=1", "conv 24 k=5 p=2"))
    rows = [r for r in diff_networks(a, b) if r.change == Change.CHANGED]
    first = rows[0]
    assert first.a.name == "conv1" and set(first.fields) == {"hyper", "output", "params", "macs", "rf"}
    assert first.fields["output"] == ((16, 32, 32), (24, 32, 32))
    assert [r.a.name for r in rows][:4] == ["conv1", "relu1", "maxpool1", "conv2"]
    conv2 = rows[3]  # its shape is back to the same, its parameters and receptive field are not
    assert "output" not in conv2.fields and {"params", "macs", "rf"} <= set(conv2.fields)


def test_json_and_totals():
    a, b = archdsl.loads(BASE), archdsl.loads(BASE.replace("fc 10", "fc 100"))
    doc = json.loads(render(a, b, "a.arch", "b.arch", "json"))
    assert doc["totals"]["params"]["delta"] == 32 * 90 + 90
    assert doc["output_shape"] == {"a": [10], "b": [100]}
    assert [r["change"] for r in doc["rows"]].count("changed") == 1


def test_removing_lrn_golden(cli, tmp_path, golden):
    text = tmp_path / "alexnet_nolrn.arch"
    lines = (ROOT / "specs" / "alexnet.arch").read_text(encoding="utf-8").splitlines()
    text.write_text("\n".join(line for line in lines if not line.strip().startswith("lrn ")) + "\n",
                    encoding="utf-8")
    code, out, _ = cli("diff", "specs/alexnet.arch", text)
    assert code == 0
    golden("diff/alexnet_without_lrn.txt", out.replace(str(text), "alexnet_nolrn.arch"))
    code, out, _ = cli("diff", "specs/alexnet.arch", text, "-f", "markdown", "--all")
    assert code == 0 and out.count("\n| ") > 25

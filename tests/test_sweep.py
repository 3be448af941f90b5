"""Search spaces: `choice(...)`, `range(...)` and `repeat choice(...)` in specs;
plain loading refuses them with a positioned error; the sweep's fast figures
(folded block calls) equal a full lowering and analysis of the same
candidate; duplicates, pruning, the Pareto front, --pick and the CLI."""
from __future__ import annotations

import json
import random

import pytest

import archdsl
from archdsl.core.memory import training_memory
from archdsl.sweep import Evaluator, Space, concrete_spec, pareto_front, sweep
from archdsl.sweep.evaluate import Candidate
from archdsl.sweep.pareto import parse_objectives
from tests.conftest import ROOT

RESNET18 = ROOT / "benchmarks" / "resnet18_space.arch"

MIXED = """\
use "std/resnet.arch"
defaults { bn eps=choice(1e-5, 1e-3) }

block Unit(c, k=choice(3, 5), act=relu) {
  conv c k=k p=same bias=false; bn; act
}
block Gate(c) {
  if c > 16 { mul { branch { identity } branch { gap; conv c k=1; sigmoid } } } else { identity }
}

network Mixed {
  input 3x32x32
  conv range(8, 25, 8) k=3 p=1
  repeat choice(1, 2) { Unit(choice(16, 24), act=choice(relu, hardswish)) }
  Gate(choice(12, 32))
  skip: conv 16 k=1
  BasicBlock(16)
  add @skip
  maxpool k=choice(2, 3) s=2 ceil=choice(false, true)
  dropout choice(0.0, 0.5)
  gap; flatten; fc 10
}
"""


@pytest.fixture
def mixed(tmp_path):
    path = tmp_path / "mixed.arch"
    path.write_text(MIXED, encoding="utf-8")
    return path


def test_plain_check_refuses_a_search_space(cli, tmp_path):
    spec = tmp_path / "s.arch"
    spec.write_text("network N {\n  input 3x8x8\n  conv 4 k=choice(1, 3)\n}\n", encoding="utf-8")
    code, _, err = cli("check", spec)
    assert code == 1
    assert f"{spec.name}:3:12: error: choice(1, 3) makes this spec a search space, not one network" in err
    assert "hint: archdsl sweep SPEC explores it" in err


def test_sites_are_found_named_and_counted(mixed):
    space = Space(mixed)
    labels = [s.label for s in space.sites]
    assert labels == ["bn eps (line 2)", "Unit(k=) (line 4)", "conv (line 13)", "repeat (line 14)",
                      "Unit(c) (line 14)", "Unit(act) (line 14)", "Gate(c) (line 15)", "maxpool k (line 19)",
                      "maxpool ceil (line 19)", "dropout (line 20)"]
    assert space.sites[2].options == ("8", "16", "24")  # range(8, 25, 8): the stop is excluded
    assert [s.in_block for s in space.sites][:2] == [True, True]
    assert space.size == 2 * 2 * 3 * 2 * 2 * 2 * 2 * 2 * 2 * 2
    for cid in (0, 1, 777, space.size - 1):
        assert space.encode(space.decode(cid)) == cid


def test_range_must_be_countable(tmp_path):
    spec = tmp_path / "r.arch"
    spec.write_text("block B(c) { conv range(c, 2 * c, 8) k=1 }\nnetwork N { input 3x8x8\n B(8) }\n")
    with pytest.raises(archdsl.ArchError, match="range\\(\\) in a search space takes numbers written out"):
        Space(spec)


def _full(space: Space, cid: int, batch: int, optimizer: str):
    """The same candidate the slow way: written out as a spec, loaded and analysed in full."""
    text = concrete_spec(space, cid)
    net = archdsl.loads(text, str(space.path), base=space.path.parent)
    mem = training_memory(net, batch, optimizer, "cuda")
    return net.totals.params, net.totals.macs, mem.total_bytes(batch), mem.backward_macs


@pytest.mark.parametrize("which", ["resnet18", "mixed"])
def test_fast_figures_equal_a_full_analysis(which, mixed):
    space = Space(RESNET18 if which == "resnet18" else mixed)
    fast = Evaluator(space, batch=8, optimizer="adam")
    rng = random.Random(7)
    checked = 0
    for cid in [0, space.size - 1] + [rng.randrange(space.size) for _ in range(60)]:
        c = fast.evaluate(cid)
        if c is None or c.error:
            continue
        assert (c.params, c.macs, c.memory, c.backward_macs) == _full(space, cid, 8, "adam"), cid
        checked += 1
    assert checked > 20 and fast.memo, "nothing was folded"


def test_resnet18_is_in_its_space():
    space = Space(RESNET18)
    resnet18 = [64, 64, 2, 128, 2, 256, 2, 512, 2]
    cid = space.encode([s.options.index(str(v)) for s, v in zip(space.sites, resnet18, strict=True)])
    c = Evaluator(space).evaluate(cid)
    assert c.params == 11_689_512 and c.macs == 1_814_073_344  # torchvision's resnet18


def test_unreached_choices_are_duplicates_not_candidates(tmp_path):
    spec = tmp_path / "d.arch"
    spec.write_text("block B(c) {\n  if c > 8 { conv c k=choice(1, 3) } else { conv c k=1 }\n}\n"
                    "network N {\n  input 3x8x8\n  B(choice(8, 16))\n}\n")
    space = Space(spec)
    result = sweep(space, range(space.size), Evaluator(space))
    assert space.size == 4 and result.evaluated == 3 and result.duplicates == 1


def test_invalid_candidates_are_reported_not_fatal(tmp_path):
    spec = tmp_path / "i.arch"
    spec.write_text("network N {\n  input 3x8x8\n  conv 4 k=choice(3, 9)\n}\n")
    space = Space(spec)
    result = sweep(space, range(space.size), Evaluator(space))
    assert len(result.candidates) == 1 and len(result.invalid) == 1
    assert "collapse below 1" in result.invalid[0].error


def test_pruning_and_the_front():
    space = Space(RESNET18)
    result = sweep(space, range(0, space.size, 7), Evaluator(space, batch=4), max_params=15_000_000)
    assert result.pruned > 0 and all(c.params <= 15_000_000 for c in result.candidates)
    front = result.front
    assert front
    for c in result.candidates:  # nothing outside the front beats a member everywhere
        for f in front:
            assert not (c.params >= f.params and c.macs <= f.macs and c.memory <= f.memory
                        and (c.params, c.macs, c.memory) != (f.params, f.macs, f.memory))


def test_pareto_directions():
    a, b, c = (Candidate(0, 10, 100, 5), Candidate(1, 20, 200, 5), Candidate(2, 20, 300, 5))
    assert pareto_front([a, b, c]) == [b, a]  # most params, then least MACs and memory
    assert pareto_front([a, b, c], parse_objectives("params-,macs-,memory-")) == [a]
    with pytest.raises(ValueError):
        parse_objectives("flops+")


def test_pick_writes_a_spec_that_loads(mixed):
    space = Space(mixed)
    fast = Evaluator(space)
    cid = next(i for i in range(space.size) if (c := fast.evaluate(i)) is not None and not c.error and i > 100)
    text = concrete_spec(space, cid)
    assert "choice(" not in text and "range(" not in text
    net = archdsl.loads(text, str(mixed), base=mixed.parent)
    assert net.totals.params == fast.evaluate(cid).params


def test_cli_table_json_plot_and_pick(cli, tmp_path):
    code, out, _ = cli("sweep", RESNET18, "--samples", "300", "--max-params", "20M", "--batch", "8")
    assert code == 0 and "13,122 candidates from 9 choice points, 300 sampled" in out and "Pareto front" in out
    target = tmp_path / "front.json"
    png = tmp_path / "front.png"
    code, _, err = cli("sweep", RESNET18, "--samples", "200", "-o", target, "--plot", png)
    doc = json.loads(target.read_text())
    assert code == 0 and doc["size"] == 13_122 and doc["front"] and doc["objectives"] == ["params+", "macs-", "memory-"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    picked = tmp_path / "r18.arch"
    code, _, err = cli("sweep", RESNET18, "--pick", "9841", "-o", picked)
    assert code == 0 and "candidate 9841: 11,689,512 params" in err
    assert "Stage(64, 2)" in picked.read_text()
    code, _, err = cli("sweep", RESNET18, "--pick", "13122")
    assert code == 2 and "run from 0 to 13,121" in err
    code, _, err = cli("sweep", "specs/alexnet.arch")
    assert code == 2 and "has no choice" in err
    code, _, err = cli("sweep", RESNET18, "--limit", "1000")
    assert code == 2 and "--samples" in err

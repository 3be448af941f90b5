"""The TextMate grammar (grammars/editors/arch.tmLanguage.json) and the VS Code
extension beside it.

The snippet corpus in grammars/editors/tests/ is run through
vscode-tmgrammar-test (VS Code's own engine, vscode-textmate with
oniguruma), installed from the npm registry by `.ci/run`
(`npm ci --prefix grammars/editors`). Where it is not installed the test
skips, except in CI, where it must run."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

EDITORS = ROOT / "grammars" / "editors"
GRAMMAR = EDITORS / "arch.tmLanguage.json"
TOOL = EDITORS / "node_modules" / ".bin" / "vscode-tmgrammar-test"


def _grammar() -> dict:
    return json.loads(GRAMMAR.read_text(encoding="utf-8"))


def _words(pattern: str) -> set[str]:
    inner = re.search(r"\\b\(([^()]*)\)", pattern).group(1)
    return set(inner.split("|"))


def test_the_grammar_names_every_layer_kind_and_merge():
    from archdsl.core.ops import MERGES, REGISTRY
    layer = _words(_grammar()["repository"]["layer"]["match"])
    missing = (set(REGISTRY) | set(MERGES)) - layer - {"input"}
    assert not missing, f"{sorted(missing)} missing from {GRAMMAR.name}: run python grammars/editors/update_kinds.py"


def test_the_grammar_names_every_keyword_of_the_lark_grammar():
    from archdsl.frontend.grammar import grammar_text
    keywords = set(re.findall(r'"([a-z]+)"', grammar_text()))
    patterns = " ".join(p["match"] for p in _grammar()["repository"]["keyword"]["patterns"])
    patterns += _grammar()["repository"]["definition"]["patterns"][0]["match"]
    patterns += _grammar()["repository"]["definition"]["patterns"][1]["match"]
    missing = {k for k in keywords if not re.search(rf"\b{k}\b", patterns)}
    assert not missing, f"keywords missing from {GRAMMAR.name}: {sorted(missing)}"


def test_the_vscode_extension_uses_this_grammar_and_starts_archdsl_lsp():
    ext = EDITORS / "vscode"
    package = json.loads((ext / "package.json").read_text())
    (grammar,) = package["contributes"]["grammars"]
    assert (ext / grammar["path"]).resolve() == GRAMMAR.resolve()  # a link, not a copy
    assert grammar["scopeName"] == _grammar()["scopeName"] == "source.arch"
    (language,) = package["contributes"]["languages"]
    assert language["extensions"] == [".arch"]
    config = json.loads((ext / language["configuration"]).read_text())
    assert config["comments"]["lineComment"] == "#"
    assert package["contributes"]["configuration"]["properties"]["archdsl.server.command"]["default"] == \
        ["archdsl", "lsp"]
    assert "vscode-languageclient" in package["dependencies"]
    if shutil.which("node"):
        subprocess.run(["node", "--check", str(ext / "extension.js")], check=True)


def test_the_snippet_corpus_passes_in_vscodes_engine():
    if not TOOL.exists():
        if os.environ.get("CI"):
            pytest.fail("vscode-tmgrammar-test is not installed; .ci/run runs npm ci --prefix grammars/editors")
        pytest.skip("vscode-tmgrammar-test not installed (npm ci --prefix grammars/editors)")
    cases = sorted((EDITORS / "tests").glob("*.arch"))
    assert len(cases) >= 3
    done = subprocess.run([str(TOOL), "-g", str(GRAMMAR), *map(str, cases)], cwd=EDITORS,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("run successfuly") == len(cases), done.stdout


def test_the_engine_catches_a_wrong_scope(tmp_path):
    """The corpus would catch a regression: a deliberately wrong assertion fails."""
    if not TOOL.exists():
        pytest.skip("vscode-tmgrammar-test not installed")
    case = tmp_path / "wrong.arch"
    case.write_text('# SYNTAX TEST "source.arch" "a wrong expectation"\n  conv 8 k=3\n'
                    "# ^^^^ keyword.control.arch\n")
    done = subprocess.run([str(TOOL), "-g", str(GRAMMAR), str(case)], cwd=EDITORS, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0 and "support.function.layer.arch" in done.stdout

"""The README sets up on any machine: exactly two set-up-and-go commands, the
CPU index for torch where pip would fetch the CUDA build, python3-venv on
Debian/Ubuntu, the venv for the later examples; .ci/run runs the same pins
and stays offline unless asked; specs/README.md stands on its own."""
from __future__ import annotations

import re
import subprocess
import tomllib

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
SETUP = README.split("## Set up and go", 1)[1].split("\n## ", 1)[0]
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_exactly_two_set_up_and_go_commands():
    blocks = re.findall(r"```sh\n(.*?)```", SETUP, re.S)
    assert len(blocks) == 2
    main, tests = (b.strip() for b in blocks)
    assert "\n" not in main and "\n" not in tests
    assert main.startswith("python3 -m venv .venv") and main.endswith("archdsl check specs/alexnet.arch")
    assert tests.startswith("python3 -m venv .venv") and tests.endswith("python -m pytest -q")


def test_the_cpu_index_venv_package_and_activation_are_named():
    text = " ".join(SETUP.split())
    assert "--index-url https://download.pytorch.org/whl/cpu" in text
    assert "python3-venv" in text
    assert ". .venv/bin/activate" in text and ".venv/bin/archdsl" in text


def test_the_python_version_is_the_packages():
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    assert f"Python {requires.removeprefix('>=')}+" in SETUP


def test_ci_installs_the_readme_pin_and_the_index_only_when_asked():
    pin = re.search(r"torch==[\d.]+", SETUP).group(0)
    line = next(x for x in CI.splitlines() if "pip install" in x and "torch==" in x)
    assert pin in line and '${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}' in line
    expand = 'set -u; for a in torch ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}; do echo "$a"; done'
    offline = subprocess.run(["bash", "-c", expand], capture_output=True, text=True, env={}, check=True)
    assert offline.stdout.split() == ["torch"]
    asked = subprocess.run(["bash", "-c", expand], capture_output=True, text=True, check=True,
                           env={"TORCH_INDEX_URL": "https://download.pytorch.org/whl/cpu"})
    assert asked.stdout.split() == ["torch", "--index-url", "https://download.pytorch.org/whl/cpu"]


def test_specs_readme_is_self_contained():
    text = (ROOT / "specs" / "README.md").read_text(encoding="utf-8")
    assert "DESIGN.md" not in text and "shared/seeds" not in text
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        if "://" not in target:
            assert (ROOT / "specs" / target).exists(), target
    for spec in sorted((ROOT / "specs").glob("*.arch")):
        assert f"]({spec.name})" in text, f"{spec.name} is not in specs/README.md"

"""`archdsl report -o net.html`: one self-contained page, table and both diagrams."""
from __future__ import annotations

import re

import pytest

from archdsl.backends.render.graphviz import find_dot
from archdsl.cli import main

from .conftest import ROOT

SPEC = str(ROOT / "specs/minigooglenet.arch")


@pytest.mark.skipif(find_dot() is None, reason="needs Graphviz's dot")
def test_page_has_table_and_both_diagrams(tmp_path):
    target = tmp_path / "net.html"
    assert main(["report", SPEC, "-o", str(target)]) == 0
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert '<table class="archdsl">' in page
    assert len(re.findall(r"<svg\b", page)) == 2
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page
    # self-contained: nothing fetched from elsewhere
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_page_without_graphviz_has_a_note(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    target = tmp_path / "net.html"
    assert main(["report", SPEC, "-o", str(target), "--layout", "hwc"]) == 0
    page = target.read_text(encoding="utf-8")
    assert len(re.findall(r"<svg\b", page)) == 1  # the volume figure only
    assert "apt-get install graphviz" in page
    assert "32\u00d732\u00d796" in page  # hwc reaches the figure


def test_report_wants_html(tmp_path):
    assert main(["report", SPEC, "-o", str(tmp_path / "net.pdf")]) == 2


def test_report_says_what_it_wrote(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot: quick, and the line is the same
    target = tmp_path / "net.html"
    assert main(["report", str(ROOT / "specs/lenet5.arch"), "-o", str(target)]) == 0
    assert capsys.readouterr().err == f"wrote {target} (report, 13 layers)\n"

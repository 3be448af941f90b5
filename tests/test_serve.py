"""archdsl serve over HTTP, without a browser: loopback only, the token and
Host checks, `use` confined to the spec's folder and std/, analysis, the
graph, saving, and the assets it serves (vendored, nothing fetched)."""
from __future__ import annotations

import http.client
import json
import re
import shutil
import threading

import pytest

from archdsl.serve import make_server
from archdsl.serve.app import STATIC
from tests.conftest import ROOT, SPECS


@pytest.fixture
def served(tmp_path):
    folder = tmp_path / "specs"
    folder.mkdir()
    spec = folder / "net.arch"
    spec.write_text("network N {\n  input 3x32x32\n  conv 16 k=3 p=1\n  relu\n}\n")
    httpd = make_server(spec)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd, spec
    httpd.shutdown()
    httpd.server_close()


def _request(httpd, method, path, body=None, token=True, host=None):
    port = httpd.server_address[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Host": host or f"127.0.0.1:{port}", "Content-Type": "application/json"}
    if token:
        headers["X-Archdsl-Token"] = httpd.session.token
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data, response


def _analyse(httpd, text):
    status, data, _ = _request(httpd, "POST", "/analyse", {"text": text})
    assert status == 200
    return json.loads(data)


def test_it_listens_on_loopback_only(served):
    httpd, _ = served
    assert httpd.server_address[0] == "127.0.0.1"


def test_the_page_carries_the_spec_and_loads_only_its_own_assets(served):
    httpd, spec = served
    status, data, response = _request(httpd, "GET", "/", token=False)
    page = data.decode()
    assert status == 200 and "conv 16 k=3 p=1" in page and httpd.session.token in page
    assert "script-src 'self'" in response.getheader("Content-Security-Policy")
    assert re.findall(r'(?:src|href)="([^"]+)"', page) == ["/static/page.css", "/static/editor.js"]
    for asset in ("editor.js", "page.css"):
        status, body, _ = _request(httpd, "GET", f"/static/{asset}", token=False)
        assert status == 200 and body == (STATIC / asset).read_bytes()
    assert _request(httpd, "GET", "/static/../app.py", token=False)[0] == 404
    assert _request(httpd, "GET", "/static/page.html", token=False)[0] == 404


def test_the_bundle_is_vendored_and_fetches_nothing():
    bundle = (STATIC / "editor.js").read_text(encoding="utf-8")
    assert "CodeMirror" in bundle[:400] and len(bundle) > 100_000
    assert not re.search(r"https?://(?!www\.w3\.org)[a-z0-9.-]+\.[a-z]{2,}/[^\"' ]*\.(?:js|css)", bundle)
    assert (ROOT / "grammars" / "editors" / "web" / "editor.mjs").exists()  # its source


def test_requests_without_the_token_or_from_another_host_are_refused(served):
    httpd, spec = served
    assert _request(httpd, "POST", "/analyse", {"text": ""}, token=False)[0] == 403
    assert _request(httpd, "POST", "/save", {"text": "x"}, token=False)[0] == 403
    assert _request(httpd, "GET", "/", host="attacker.example:80", token=False)[0] == 421
    assert _request(httpd, "POST", "/analyse", {"text": ""}, host="attacker.example")[0] == 421
    assert spec.read_text().startswith("network N")


def test_analysis_gives_problems_shapes_table_and_volume(served):
    httpd, _ = served
    result = _analyse(httpd, "network N {\n  input 3x32x32\n  conv 16 k=3 p=1\n  relu\n}\n")
    assert result["ok"] and result["problems"] == []
    assert [(h["line"], h["label"]) for h in result["hints"]] == [(1, "\u2192 3x32x32"), (2, "\u2192 16x32x32"),
                                                               (3, "\u2192 16x32x32")]
    assert "<table" in result["table"] and result["volume"].startswith("<svg")
    assert "448 params" in result["summary"]
    graph = json.loads(_request(httpd, "POST", "/graph", {"version": result["version"]})[1])
    if shutil.which("dot"):
        assert graph["svg"].startswith("<svg")
    else:
        assert "Graphviz" in graph["note"]
    broken = _analyse(httpd, "network N {\n  input 3x32x32\n  conv 16 k=40\n  relu\n}\n")
    (problem,) = broken["problems"]
    assert not broken["ok"] and problem["line"] == 2 and "collapse below 1" in problem["message"]
    assert broken["stale"] and [h["line"] for h in broken["hints"]] == [1]  # above the error, still valid
    assert broken["table"] is None


@pytest.mark.parametrize("path", ["/etc/passwd", "../../../../../../etc/passwd", "std/../../../../../../etc/passwd",
                                  "/etc/hostname", "../outside.arch"])
def test_use_outside_the_folder_is_refused_without_reading_it(served, path, tmp_path):
    httpd, _ = served
    (tmp_path / "outside.arch").write_text("block Secret { relu }\n")  # beside the folder, not in it
    result = _analyse(httpd, f'use "{path}"\nnetwork N {{ input 3x8x8 }}\n')
    (problem,) = result["problems"]
    assert problem["line"] == 0 and f'use "{path}" is outside the spec\'s folder' in problem["message"]
    assert "root:" not in json.dumps(result) and "Secret" not in json.dumps(result)


def test_a_link_out_of_the_folder_is_refused_and_files_inside_and_std_are_fine(served, tmp_path):
    httpd, spec = served
    (spec.parent / "passwd.arch").symlink_to("/etc/passwd")
    result = _analyse(httpd, 'use "passwd.arch"\nnetwork N { input 3x8x8 }\n')
    assert "outside the spec's folder" in result["problems"][0]["message"]
    (spec.parent / "sub").mkdir()
    (spec.parent / "sub" / "mine.arch").write_text('use "../../outside.arch"\nblock Mine { relu }\n')
    nested = _analyse(httpd, 'use "sub/mine.arch"\nnetwork N { input 3x8x8; Mine }\n')
    assert 'use "../../outside.arch" is outside' in nested["problems"][0]["message"]
    (spec.parent / "sub" / "mine.arch").write_text('use "std/resnet.arch"\nblock Mine { relu }\n')
    fine = _analyse(httpd, 'use "sub/mine.arch"\nuse "std/unet.arch"\nnetwork N { input 3x8x8; Mine }\n')
    assert fine["ok"], fine["problems"]


def test_the_cli_check_still_reads_what_it_is_told(cli, tmp_path):
    """Only the server is confined: the command line reads any file, as before."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b.arch").write_text("block B { relu }\n")
    spec = tmp_path / "a" / "n.arch"
    spec.write_text('use "../b.arch"\nnetwork N { input 3x8x8; B }\n')
    assert cli("check", spec)[0] == 0


def test_save_writes_the_spec(served):
    httpd, spec = served
    status, data, _ = _request(httpd, "POST", "/save", {"text": "network N { input 3x8x8 }\n"})
    assert status == 200 and spec.read_text() == "network N { input 3x8x8 }\n"


def test_the_command_refuses_a_missing_spec(cli, tmp_path):
    assert cli("serve", tmp_path / "missing.arch")[0] == 2


def test_a_gallery_spec_with_blocks_from_std_analyses(tmp_path):
    folder = tmp_path / "g"
    folder.mkdir()
    shutil.copy(SPECS / "unet.arch", folder / "unet.arch")
    httpd = make_server(folder / "unet.arch")
    result = httpd.session.analyse((folder / "unet.arch").read_text())
    httpd.server_close()
    assert result["ok"] and "31,030,658 params" in result["summary"]

"""archdsl serve in headless Chromium (Debian's package): the page loads with
no network, shows the shapes at line ends, the table and both diagrams,
follows typing (through the DevTools protocol's Input.insertText, as a
keyboard would), shows errors inline, refuses `use "/etc/passwd"`, and a
screenshot is written for people to look at (ARCHDSL_SCREENSHOTS=DIR keeps
them; docs/images/ has the ones in the README).

The browser is driven over --remote-debugging-pipe (JSON messages ended by
NUL on file descriptors 3 and 4), so no websocket library is needed."""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import SPECS

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--remote-debugging-pipe",
         "--window-size=1600,1000", "--hide-scrollbars", "--mute-audio"]
WAIT = 30


class Browser:
    """A headless Chromium and one page, spoken to over the DevTools pipe."""

    def __init__(self, profile: Path):
        to_browser_r, self._to_browser = _high(os.pipe())
        self._from_browser, from_browser_w = _high(os.pipe())
        # Chromium reads commands from fd 3 and writes to fd 4; both ends were moved
        # above 9 first, so that placing them cannot overwrite one with the other.
        wrapper = f"exec 3<&{to_browser_r} 4>&{from_browser_w}; exec \"$0\" \"$@\""
        self.proc = subprocess.Popen(["bash", "-c", wrapper, BROWSER, *FLAGS, f"--user-data-dir={profile}",
                                      "about:blank"], pass_fds=(to_browser_r, from_browser_w),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._id = 0
        self._buffer = b""
        self._replies: dict[int, dict] = {}
        self._events: list[dict] = []
        self._lock = threading.Lock()
        self.session = None
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")

    def _read(self) -> None:
        chunk = os.read(self._from_browser, 1 << 16)
        if not chunk:
            raise RuntimeError("the browser went away")
        self._buffer += chunk
        while b"\0" in self._buffer:
            raw, self._buffer = self._buffer.split(b"\0", 1)
            message = json.loads(raw)
            if "id" in message:
                self._replies[message["id"]] = message
            else:
                self._events.append(message)

    def call(self, method: str, **params):
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if self.session is not None and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + WAIT
        while self._id not in self._replies:
            if time.monotonic() > deadline:
                raise TimeoutError(method)
            self._read()
        reply = self._replies.pop(self._id)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def js(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = WAIT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.js(expression)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"never true: {expression}")

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except Exception:  # noqa: BLE001 - it is going away either way
            pass
        self.proc.wait(timeout=WAIT)
        os.close(self._to_browser)
        os.close(self._from_browser)


def _high(fds: tuple[int, int]) -> tuple[int, int]:
    """The same pipe on descriptors of 10 and up."""
    import fcntl
    moved = tuple(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in fds)
    for fd in fds:
        os.close(fd)
    return moved


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    if BROWSER is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs it with apt-get")
        pytest.skip("chromium not installed (apt-get install chromium)")
    from archdsl.serve import make_server
    folder = tmp_path_factory.mktemp("live")
    spec = folder / "resnet50.arch"
    shutil.copy(SPECS / "resnet50.arch", spec)
    httpd = make_server(spec)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    browser = Browser(tmp_path_factory.mktemp("profile"))
    url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    browser.call("Page.navigate", url=url)
    yield browser, spec, folder
    browser.close()
    httpd.shutdown()
    httpd.server_close()


def _shots() -> Path | None:
    where = os.environ.get("ARCHDSL_SCREENSHOTS")
    return Path(where) if where else None


def _type_at(browser: Browser, line: int, column: int, text: str, delete: int = 0) -> None:
    """Put the cursor at a 1-based line and 0-based column, delete, and type as a keyboard does."""
    browser.js(f"""(() => {{ const v = window.archdslEditor; const l = v.state.doc.line({line});
        v.focus(); v.dispatch({{selection: {{anchor: l.from + {column}, head: l.from + {column + delete}}}}}); }})()""")
    if delete and not text:
        browser.call("Input.dispatchKeyEvent", type="keyDown", key="Delete", code="Delete",
                     windowsVirtualKeyCode=46)
        browser.call("Input.dispatchKeyEvent", type="keyUp", key="Delete", code="Delete", windowsVirtualKeyCode=46)
    else:
        browser.call("Input.insertText", text=text)


def _scroll_to(browser: Browser, line: int) -> None:
    """Scroll the editor so that a 1-based line is at its top (for the screenshots)."""
    browser.js(f"""(() => {{ const v = window.archdslEditor;
        v.scrollDOM.scrollTop = v.lineBlockAt(v.state.doc.line({line}).from).top; }})()""")
    time.sleep(0.3)


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.split("\n"), 1) if needle in line)


def test_the_page_shows_shapes_the_table_and_both_diagrams(live, tmp_path):
    browser, spec, _ = live
    browser.wait_for("document.querySelectorAll('.cm-arch-hint').length > 10")
    hints = browser.js("[...document.querySelectorAll('.cm-arch-hint')].map(e => e.textContent)")
    assert "\u2192 64x112x112" in hints and "\u2192 256x56x56 \u00b7 75,008 params" in hints
    assert browser.js("document.getElementById('status').textContent") == "no problems"
    assert "25,557,032 params" in browser.js("document.getElementById('summary').textContent")
    table = browser.js("document.querySelector('#table table') !== null && "
                       "document.querySelector('#table').textContent")
    assert "bottleneck1.conv1" in table and "25,557,032" in table
    assert browser.js("document.querySelector('#volume svg') !== null")
    if shutil.which("dot"):
        browser.wait_for("document.querySelector('#graph svg') !== null")
    else:
        browser.wait_for("document.querySelector('#graph').textContent.includes('Graphviz')")
    # Highlighting: layer kinds, labels and comments are told apart.
    assert browser.js("document.querySelectorAll('.cm-content span').length > 100")
    _scroll_to(browser, _line_of(spec.read_text(), "# out = relu(body(x)"))
    shot = (_shots() or tmp_path) / "serve_page.png"
    browser.screenshot(shot)
    assert shot.stat().st_size > 20_000


def test_typing_updates_the_shapes_and_errors_show_inline(live, tmp_path):
    browser, spec, _ = live
    text = spec.read_text()
    browser.wait_for("document.getElementById('status').textContent === 'no problems'")
    line = _line_of(text, "conv1: conv 64 k=7")
    # conv1: conv 64 -> conv 96: the stem's hint follows.
    _type_at(browser, line, len("  conv1: conv "), "96", delete=2)
    browser.wait_for("[...document.querySelectorAll('.cm-arch-hint')].some(e => e.textContent === '\u2192 96x112x112')")
    # A kernel that does not fit: an error under its line, the arithmetic included, shapes above kept.
    _type_at(browser, line, len("  conv1: conv 96 k="), "700", delete=1)
    problem = browser.wait_for("document.querySelector('.cm-arch-problem.cm-arch-error')?.textContent")
    assert "collapse" in problem and "= input is 3x224x224" in problem
    assert browser.js("document.querySelector('.cm-lintRange-error') !== null")
    assert browser.js("document.getElementById('status').textContent").startswith("1 error")
    assert browser.js("document.body.classList.contains('has-errors')")
    stale = browser.js("[...document.querySelectorAll('.cm-arch-stale')].map(e => e.textContent)")
    assert "\u2192 3x224x224" in stale  # the input's shape, from the last good analysis
    assert browser.js("document.getElementById('table').classList.contains('stale')")
    _scroll_to(browser, _line_of(text, "# out = relu(body(x)"))
    shot = (_shots() or tmp_path) / "serve_error.png"
    browser.screenshot(shot)
    # Fixed again.
    _type_at(browser, line, len("  conv1: conv 96 k="), "7", delete=3)
    browser.wait_for("document.getElementById('status').textContent === 'no problems'")
    assert not browser.js("document.querySelector('.cm-arch-problem')")


def test_use_outside_the_folder_is_refused_in_the_page(live):
    browser, spec, _ = live
    browser.wait_for("document.getElementById('status').textContent === 'no problems'")
    _type_at(browser, 1, 0, 'use "/etc/passwd"\n')
    problem = browser.wait_for("document.querySelector('.cm-arch-problem')?.textContent")
    assert "outside the spec's folder" in problem
    assert "root:" not in browser.js("document.body.innerText")  # nothing of the file reached the page
    browser.js("window.archdslEditor.dispatch({changes: {from: 0, to: 18, insert: ''}})")
    browser.wait_for("document.getElementById('status').textContent === 'no problems'")


def test_ctrl_s_saves_the_spec(live):
    browser, spec, _ = live
    browser.wait_for("document.getElementById('status').textContent === 'no problems'")
    _type_at(browser, 1, 0, "# edited in the browser\n")
    browser.call("Input.dispatchKeyEvent", type="keyDown", key="s", code="KeyS", modifiers=2,
                 windowsVirtualKeyCode=83)
    browser.call("Input.dispatchKeyEvent", type="keyUp", key="s", code="KeyS", modifiers=2, windowsVirtualKeyCode=83)
    browser.wait_for("document.getElementById('saved').textContent === 'saved'")
    assert spec.read_text().startswith("# edited in the browser\n")


def test_a_close_look_at_the_hints(live, tmp_path):
    """AlexNet's handout comments state each shape; the hints after them check it."""
    browser, _, folder = live
    from archdsl.serve import make_server
    spec = folder / "alexnet.arch"
    shutil.copy(SPECS / "alexnet.arch", spec)
    httpd = make_server(spec)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        browser.call("Page.navigate", url=f"http://127.0.0.1:{httpd.server_address[1]}/")
        browser.wait_for("document.querySelectorAll('.cm-arch-hint').length > 20")
        hints = browser.js("[...document.querySelectorAll('.cm-arch-hint')].map(e => e.textContent)")
        assert hints[:3] == ["\u2192 3x227x227", "\u2192 96x55x55", "\u2192 96x55x55"]
        first = _line_of(spec.read_text(), "network AlexNet") - 1
        _scroll_to(browser, first)
        box = browser.js(f"""(() => {{ const r = document.getElementById('editor').getBoundingClientRect();
            const v = window.archdslEditor; const top = v.coordsAtPos(v.state.doc.line({first}).from).top - 4;
            return [r.x, top, r.width, Math.min(r.bottom - top, 500)]; }})()""")
        data = browser.call("Page.captureScreenshot", format="png",
                            clip={"x": box[0], "y": box[1], "width": box[2], "height": box[3], "scale": 1})["data"]
        shot = (_shots() or tmp_path) / "editor_hints.png"
        shot.write_bytes(base64.b64decode(data))
        assert shot.stat().st_size > 10_000
    finally:
        httpd.shutdown()
        httpd.server_close()

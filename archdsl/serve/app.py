"""The live page's server: one spec, on 127.0.0.1 only.

Routes: `GET /` the page (the spec's text and a per-run token inside),
`GET /static/NAME` its script and style, `POST /analyse` {text} -> problems,
shapes per line, the table and the volume diagram, `POST /graph` {version}
-> the graph diagram (Graphviz) of that analysis, `POST /save` {text} ->
writes the spec. Every POST must carry the token (a custom header, so a
page of another origin cannot send it without a CORS preflight, which is
never answered), and every request a Host of this loopback address (against
DNS rebinding)."""
from __future__ import annotations

import html
import json
import secrets
import threading
from dataclasses import asdict
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from archdsl.editor.analysis import Snapshot, analyse_text
from archdsl.editor.carry import Carry
from archdsl.serve import guard

STATIC = Path(__file__).with_name("static")
ASSETS = {"editor.js": "text/javascript; charset=utf-8", "page.css": "text/css; charset=utf-8"}
MAX_BODY = 4 * 1024 * 1024  # a spec is text; nothing legitimate is larger
DEBOUNCE_MS = 250
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


class Session:
    """The spec being edited and its analyses; shared by the request threads."""

    def __init__(self, spec: Path):
        self.spec = spec.resolve()
        self.root = self.spec.parent
        self.token = secrets.token_urlsafe(24)
        self.lock = threading.Lock()
        self.version = 0
        self.snapshot: Snapshot | None = None
        self.good: Snapshot | None = None
        self.graphs: dict[int, dict] = {}

    def analyse(self, text: str) -> dict:
        from archdsl.errors import ArchError
        from archdsl.frontend.parse import normalise, parse
        with self.lock:
            self.version += 1
            version = self.version
        snap = Snapshot(normalise(text), str(self.spec), version)
        refused = []
        try:
            refused = guard.refused_uses(parse(text, str(self.spec)), self.root)
        except ArchError:
            refused = []  # a syntax error: analyse_text reports it
        if refused:
            snap.problems = refused
        else:
            snap = analyse_text(text, str(self.spec), version)
        with self.lock:
            if snap.ok and snap.graphs:
                self.good = snap
            self.snapshot = snap
            good = self.good
        return self._result(snap, good)

    def _result(self, snap: Snapshot, good: Snapshot | None) -> dict:
        problems = [dict(severity=p.severity, message=p.message, **asdict(p.range)) for p in snap.problems]
        hints, stale = snap.hints, False
        if not snap.graphs and good is not None:
            hints, stale = Carry(good, snap.text).hints(), True
        result = {"version": snap.version, "ok": bool(snap.graphs) and snap.ok, "problems": problems,
                  "hints": [asdict(h) for h in hints], "stale": stale,
                  "summary": None, "table": None, "volume": None}
        if snap.graphs:
            nets = snap.networks
            result["summary"] = " \u00b7 ".join(_summary(n) for n in nets)
            result["table"] = "".join(n._repr_html_() for n in nets)
            result["volume"] = nets[-1]._repr_svg_()
        return result

    def graph(self, version: int) -> dict:
        with self.lock:
            snap = self.snapshot if self.snapshot is not None and self.snapshot.version == version else None
            cached = self.graphs.get(version)
        if cached is not None:
            return cached
        if snap is None or not snap.graphs:
            return {"version": version, "svg": None, "note": "no analysis to draw"}
        from archdsl.backends.render.graphviz import INSTALL_HINT, GraphvizError
        from archdsl.backends.render.page import graph_svg
        try:
            svg = graph_svg(snap.networks[-1], collapse=True, layout="chw")
            result = {"version": version, "svg": svg[svg.find("<svg"):] if svg else None,
                      "note": None if svg else "the graph needs Graphviz: " + INSTALL_HINT}
        except GraphvizError as exc:
            result = {"version": version, "svg": None, "note": str(exc)}
        with self.lock:
            self.graphs = {version: result}
        return result

    def save(self, text: str) -> dict:
        from archdsl.atomic import write_atomic
        write_atomic(self.spec, text)
        return {"saved": str(self.spec.name)}

    def page(self, port: int) -> str:
        from archdsl.core.ops import MERGES, REGISTRY
        config = {"token": self.token, "kinds": sorted(set(REGISTRY) | set(MERGES) | {"output", "expect"}),
                  "debounce_ms": DEBOUNCE_MS}
        template = (STATIC / "page.html").read_text(encoding="utf-8")
        return (template.replace("{{name}}", html.escape(self.spec.name))
                .replace("{{config}}", html.escape(json.dumps(config), quote=False))
                .replace("{{source}}", html.escape(self.spec.read_text(encoding="utf-8"), quote=False)))


def _summary(net) -> str:
    from archdsl.text import shape_text
    return (f"{net.name}: {shape_text(net.input_shape)} \u2192 {shape_text(net.output_shape)}, "
            f"{net.totals.params:,} params, {net.totals.macs:,} MACs")


class Handler(BaseHTTPRequestHandler):
    server_version = "archdsl-serve"
    session: Session  # set on the subclass made per server

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass  # quiet: the terminal shows the URL, not every keystroke

    def _host_ok(self) -> bool:
        port = self.server.server_address[1]
        return self.headers.get("Host") in (f"127.0.0.1:{port}", f"localhost:{port}")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, doc) -> None:
        self._send(status, json.dumps(doc).encode("utf-8"), "application/json")

    def do_GET(self):  # noqa: N802 - the stdlib's name
        if not self._host_ok():
            return self._json(HTTPStatus.MISDIRECTED_REQUEST, {"error": "wrong Host"})
        if self.path in ("/", "/index.html"):
            return self._send(HTTPStatus.OK, self.session.page(self.server.server_address[1]).encode("utf-8"),
                              "text/html; charset=utf-8")
        name = self.path.removeprefix("/static/")
        if self.path.startswith("/static/") and name in ASSETS:
            return self._send(HTTPStatus.OK, (STATIC / name).read_bytes(), ASSETS[name])
        return self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})

    def do_POST(self):  # noqa: N802
        if not self._host_ok():
            return self._json(HTTPStatus.MISDIRECTED_REQUEST, {"error": "wrong Host"})
        if not secrets.compare_digest(self.headers.get("X-Archdsl-Token", ""), self.session.token):
            return self._json(HTTPStatus.FORBIDDEN, {"error": "missing or wrong token"})
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "too large"})
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except (ValueError, UnicodeDecodeError):
            return self._json(HTTPStatus.BAD_REQUEST, {"error": "not JSON"})
        routes = {"/analyse": lambda: self.session.analyse(str(body.get("text", ""))),
                  "/graph": lambda: self.session.graph(int(body.get("version", 0))),
                  "/save": lambda: self.session.save(str(body.get("text", "")))}
        route = routes.get(self.path)
        if route is None:
            return self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})
        return self._json(HTTPStatus.OK, route())


def make_server(spec: Path, port: int = 0) -> ThreadingHTTPServer:
    """A server for one spec on 127.0.0.1 (port 0: any free one); not started."""
    session = Session(spec)
    handler = type("SpecHandler", (Handler,), {"session": session})
    httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
    httpd.daemon_threads = True
    httpd.session = session
    return httpd

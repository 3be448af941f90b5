"""Keystroke latency of `archdsl lsp` on ResNet-152-size specs.

A keystroke is one didChange (one character typed into a channel count,
alternately 512 -> 516 -> 512 so that the spec stays valid, or into a syntax
error and out of it); its latency is the time from sending the change until
the client has received the diagnostics of that version, over the real stdio
connection, with the debounce set to 0 (the editor's default 0.1 s of quiet
typing is a deliberate wait, not work). Then the inlay hints of the whole
file are requested: that round trip is measured too. In-process figures
(archdsl.editor.analyse_text alone) show what is analysis and what is
protocol.

    python benchmarks/bench_lsp.py --keys 60
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

ROOT = Path(__file__).resolve().parent.parent
STAGES = (3, 8, 36, 3)  # ResNet-152
WIDTHS = (256, 512, 1024, 2048)


def resnet152(flat: bool) -> str:
    """torchvision's ResNet-152: every block a line (`flat=False`), or every layer a line."""
    head = ("network ResNet152 {\n  input 3x224x224\n  conv1: conv 64 k=7 s=2 p=3 bias=false\n  bn; relu\n"
            "  maxpool k=3 s=2 p=1\n")
    tail = "  gap\n  flatten\n  fc 1000\n}\n"
    lines = []
    c_in = 64
    for stage, (n, c) in enumerate(zip(STAGES, WIDTHS, strict=True)):
        for i in range(n):
            s = 2 if i == 0 and stage > 0 else 1
            if not flat:
                lines.append(f"  layer{stage + 1}_{i}: Bottleneck({c}, s={s})\n")
                continue
            project = c_in != c or s != 1
            lines.append("  residual {\n"
                         f"    conv {c // 4} k=1 bias=false\n    bn\n    relu\n"
                         f"    conv {c // 4} k=3 s={s} p=1 bias=false\n    bn\n    relu\n"
                         f"    conv {c} k=1 bias=false\n    bn\n  }}"
                         + (f" shortcut {{\n    conv {c} k=1 s={s} bias=false\n    bn\n  }}\n" if project else "\n")
                         + "  relu\n")
            c_in = c
    block = ""
    if not flat:
        block = ("block Bottleneck(c, s=1) {\n  residual {\n    conv c/4 k=1 bias=false; bn; relu\n"
                 "    conv c/4 k=3 s=s p=1 bias=false; bn; relu\n    conv c k=1 bias=false; bn\n"
                 "  } shortcut {\n    conv c k=1 s=s bias=false; bn\n  }\n  relu\n}\n\n")
    return block + head + "".join(lines) + tail


def _target(text: str) -> tuple[int, int]:
    """Where the keystrokes go: the last digit of a 512 in the middle of the file."""
    rows = text.split("\n")
    middle = len(rows) // 2
    for i in list(range(middle, len(rows))) + list(range(middle)):
        col = rows[i].find("512")
        if col >= 0:
            return i, col + 2
    raise ValueError("no 512 to type into")


class Client:
    def __init__(self):
        self.client = LanguageClient("bench", "1")
        self.published: dict[int, float] = {}
        self.version = 1

        @self.client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def _published(params):
            self.published[params.version] = time.perf_counter()

        @self.client.feature(lsp.WORKSPACE_INLAY_HINT_REFRESH)
        def _refresh(params):
            return None

    async def start(self):
        await self.client.start_io(sys.executable, "-m", "archdsl", "lsp", cwd=str(ROOT))
        await self.client.initialize_async(lsp.InitializeParams(capabilities=lsp.ClientCapabilities(),
                                                                initialization_options={"debounce": 0}))
        self.client.initialized(lsp.InitializedParams())

    async def wait(self, version: int) -> float:
        while version not in self.published:
            await asyncio.sleep(0.0005)
        return self.published[version]

    async def keystrokes(self, path: Path, text: str, keys: int, broken: bool) -> tuple[list, list, int]:
        uri = from_fs_path(str(path))
        self.client.text_document_did_open(lsp.DidOpenTextDocumentParams(
            lsp.TextDocumentItem(uri=uri, language_id="arch", version=self.version, text=text)))
        await self.wait(self.version)
        line, col = _target(text)
        typed, hinted, hints = [], [], 0
        for k in range(keys + 5):
            # valid: 512 -> 516 -> 512 (516 / 4 is whole); broken: 512 -> 51( (a syntax error) -> 512
            new = ("6" if not broken else "(") if k % 2 == 0 else "2"
            self.version += 1
            start = time.perf_counter()
            self.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
                lsp.VersionedTextDocumentIdentifier(uri=uri, version=self.version),
                [lsp.TextDocumentContentChangePartial(range=lsp.Range(lsp.Position(line, col),
                                                                      lsp.Position(line, col + 1)), text=new)]))
            done = await self.wait(self.version)
            got = await self.client.text_document_inlay_hint_async(lsp.InlayHintParams(
                lsp.TextDocumentIdentifier(uri), lsp.Range(lsp.Position(0, 0), lsp.Position(len(text), 0))))
            end = time.perf_counter()
            if k >= 5:  # the first few warm caches
                typed.append(done - start)
                hinted.append(end - done)
                hints = len(got)
        return typed, hinted, hints

    async def stop(self):
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


def _ms(values) -> str:
    return f"{statistics.median(values) * 1000:.1f} ms"


def _p90(values) -> str:
    return f"{sorted(values)[int(len(values) * 0.9) - 1] * 1000:.1f} ms"


async def main_async(keys: int) -> None:
    from archdsl.editor.analysis import analyse_text
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for flat in (False, True):
            text = resnet152(flat)
            path = Path(tmp) / ("resnet152_flat.arch" if flat else "resnet152.arch")
            path.write_text(text)
            snap = analyse_text(text, str(path))
            assert snap.ok and snap.graphs, snap.problems
            inproc = []
            for _ in range(keys):
                t0 = time.perf_counter()
                _ = analyse_text(text, str(path)).hints  # parse, lower and the shapes per line
                inproc.append(time.perf_counter() - t0)
            for broken in (False, True):
                client = Client()
                await client.start()
                typed, hinted, hints = await client.keystrokes(path, text, keys, broken)
                await client.stop()
                what = ("every layer a line" if flat else "every block a line") + (
                    ", keystrokes into a syntax error and out" if broken else "")
                rows.append((what, len(text.split("\n")), len(snap.graphs[0].nodes), _ms(inproc), _ms(typed),
                             _p90(typed), _ms(hinted), hints))
    print(f"keystroke latency, {keys} keystrokes each (median, p90), debounce 0:\n")
    print("| spec (ResNet-152, 60,192,808 params) | lines | layers | analysis in process | keystroke -> "
          "diagnostics | p90 | inlay hints of the file | hints |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print("| " + " | ".join(str(x) for x in r) + " |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--keys", type=int, default=60)
    args = p.parse_args()
    asyncio.run(main_async(args.keys))


if __name__ == "__main__":
    main()

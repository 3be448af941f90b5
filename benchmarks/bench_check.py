"""Speed of `archdsl check` against what users would run instead: torchinfo's
`summary()` of the PyTorch module archdsl generates for the same spec (the
import of torch alone is the floor of any torch-based tool), and parse +
analysis scaling on generated specs of 1k, 10k and 50k layers.

Run: python benchmarks/bench_check.py [--runs N] [--baseline DIR] [--no-whole-process]
(torchinfo comes with `pip install -e ".[bench]"`; without it, or without
torch, the torchinfo rows are left out.) `--baseline DIR` also times the
archdsl in DIR (another checkout, e.g. `git worktree add DIR HEAD~3`) in the
same interleaved loop, for before/after figures.

Every figure of one table comes from one run: the commands of a round run one
after another, the order rotating from round to round, so that load on the
machine affects every command alike; medians over the rounds.

Whole-process times are those of archdsl as `pip install archdsl` leaves it:
each checkout is built into a wheel and installed in a fresh virtual
environment, and `archdsl check` runs as its console script. Everything else
(python -c pass, import torch, torchinfo) runs with that environment's python;
torch and torchinfo are this interpreter's, reached through a path file, which
runs no code at start-up. (An editable install instead runs setuptools' import
hook at every start, about 15 ms before any of archdsl: its `archdsl check` is
in the table too, marked "editable".) Bytecode is on, as after `pip install`
(a private PYTHONPYCACHEPREFIX, filled by a warm-up run of every command),
whatever PYTHONDONTWRITEBYTECODE says. Prints Markdown tables for
BENCHMARKS.md."""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import site
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_specs import generated_spec  # noqa: E402

# (name, spec) of the networks compared with torchinfo.
NETWORKS = (("resnet50", "specs/resnet50.arch"), ("googlenet", "specs/googlenet.arch"),
            ("resnet152", "benchmarks/specs/resnet152.arch"))
RESNET152 = "benchmarks/specs/resnet152.arch"

# Imports a module written by `archdsl build` and prints torchinfo's summary of it.
TORCHINFO = """\
import importlib.util, sys
import torch, torchinfo
path, name, shape = sys.argv[1], sys.argv[2], tuple(int(v) for v in sys.argv[3].split("x"))
spec = importlib.util.spec_from_file_location("built", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
torchinfo.summary(getattr(module, name)(), input_size=(1, *shape), verbose=1)
"""


def environment(cache: Path, path: Path | None = None) -> dict[str, str]:
    """Bytecode on (in `cache`), and `path` first on sys.path for a baseline checkout
    (whose commands also run there: the working directory comes first on sys.path)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    if path is not None:
        env["PYTHONPATH"] = str(path) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def timed(cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> tuple[float, float]:
    """(wall, CPU) seconds of one whole process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{stderr}")
    return wall, usage.ru_utime + usage.ru_stime


def build_modules(workdir: Path, env: dict[str, str], baseline: Path | None) -> dict[str, tuple]:
    """`archdsl build` of every network: name -> (module file, class name, input shape).
    Where this checkout's torch backend fails, the baseline's builds the module."""
    import archdsl
    built = {}
    for name, spec in NETWORKS:
        net = archdsl.load(ROOT / spec)
        out = workdir / f"{name}.py"
        cmd = [sys.executable, "-m", "archdsl", "build", str(ROOT / spec), "-o", str(out)]
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0 and baseline is not None:
            done = subprocess.run(cmd, cwd=baseline, env=environment(Path(env["PYTHONPYCACHEPREFIX"]), baseline),
                                  capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"archdsl build {spec} failed:\n{done.stderr}")
        source = out.read_text(encoding="utf-8")
        if not re.search(rf"^class {re.escape(net.name)}\b", source, re.M):
            raise SystemExit(f"{out} has no class {net.name}")
        built[name] = (out, net.name, "x".join(map(str, net.graph.inputs[0].shape)))
    return built


# What a wheel is built from: the working tree as it is, less what is not source.
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "node_modules", "build", "dist", "*.egg-info", "__pycache__",
                                    ".hypothesis", ".pytest_cache", "out")


def install(checkout: Path, work: Path, tag: str) -> Path:
    """A fresh virtual environment (its directory) holding `checkout`'s archdsl,
    installed from a wheel as `pip install` installs it; this interpreter's own
    packages (torch, torchinfo) are reachable through a path file."""
    source, wheels, venv = work / f"source-{tag}", work / f"wheels-{tag}", work / f"venv-{tag}"
    shutil.copytree(checkout, source, ignore=NOT_SOURCE)
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)],
                   check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (wheel,) = wheels.glob("archdsl-*.whl")
    python = venv / "bin" / "python"
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True)
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             check=True, capture_output=True, text=True).stdout.strip()
    ours = [p for p in site.getsitepackages() if Path(p).is_dir()] or [sysconfig.get_path("purelib")]
    (Path(purelib) / "bench_outer.pth").write_text("\n".join(ours) + "\n", encoding="utf-8")
    return venv


def whole_process(runs: int, baseline: Path | None) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) of every command, in one interleaved loop."""
    work = Path(tempfile.mkdtemp(prefix="bench_check_"))
    venv = install(ROOT, work, "this")
    py = str(venv / "bin" / "python")
    archdsl = str(venv / "bin" / "archdsl")
    base_archdsl = str(install(baseline, work, "baseline") / "bin" / "archdsl") if baseline else None
    env = environment(work / "pycache")
    with_torch = all(importlib.util.find_spec(m) is not None for m in ("torch", "torchinfo"))
    commands: dict[str, tuple[list[str], dict, Path]] = {
        "python -c pass": ([py, "-c", "pass"], env, ROOT),
        "python -c pass (editable)": ([sys.executable, "-c", "pass"], env, ROOT)}
    if with_torch:
        commands['python -c "import torch"'] = ([py, "-c", "import torch"], env, ROOT)
        runner = work / "torchinfo_summary.py"
        runner.write_text(TORCHINFO, encoding="utf-8")
        built = build_modules(work, env, baseline)
    for name, spec in NETWORKS:
        commands[f"archdsl check {name}"] = ([archdsl, "check", str(ROOT / spec)], env, ROOT)
        if baseline:
            commands[f"archdsl check {name} (baseline)"] = ([base_archdsl, "check", str(ROOT / spec)], env, ROOT)
        if name == "resnet50":
            commands[f"archdsl check {name} (editable)"] = (
                [sys.executable, "-m", "archdsl", "check", str(ROOT / spec)], env, ROOT)
        if with_torch:
            path, cls, shape = built[name]
            commands[f"torchinfo summary {name}"] = ([py, str(runner), str(path), cls, shape], env, ROOT)
    for cmd, cmd_env, cwd in commands.values():
        timed(cmd, cmd_env, cwd)  # warm-up: writes the bytecode of every module into the private cache
    samples = {name: [] for name in commands}
    names = list(commands)
    for round_ in range(runs):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(timed(*commands[name]))
    return {name: (statistics.median(w for w, _ in s), statistics.median(c for _, c in s))
            for name, s in samples.items()}


SIZES = (1_000, 10_000, 50_000)


def scaling(sizes=SIZES, runs: int = 3) -> list[tuple[int, float, float]]:
    import archdsl
    rows = []
    for n in sizes:
        text = generated_spec(n)
        best = min(_timed(lambda text=text: archdsl.loads(text)) for _ in range(runs))
        rows.append((n, best, best / n * 1e6))
    return rows


def reanalysis(runs: int = 20) -> float:
    """Best time of one more in-process `archdsl.load` of ResNet-152 (a language server's keystroke)."""
    import archdsl
    archdsl.load(ROOT / RESNET152)
    return min(_timed(lambda: archdsl.load(ROOT / RESNET152)) for _ in range(runs))


def _timed(fn) -> float:
    # CPU time of this (single-threaded) process: on a shared machine it moves far less
    # with the load than wall time does, and without load the two agree.
    start = time.process_time()
    fn()
    return time.process_time() - start


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="rounds of the whole-process loop (default 15)")
    parser.add_argument("--baseline", metavar="DIR", type=lambda p: Path(p).resolve(),
                        help="also time the archdsl of this checkout")
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)  # JSON, for the comparison
    parser.add_argument("--no-whole-process", action="store_true", help="only the in-process figures")
    args = parser.parse_args()
    if args.in_process:
        print(json.dumps(in_process_figures()))
        return
    if not args.no_whole_process:
        print_whole_process(args)
    print_in_process(args)


def print_whole_process(args) -> None:
    times = whole_process(args.runs, args.baseline)
    print(f"Whole process, median of {args.runs} interleaved rounds (wall; CPU = user + system):")
    print()
    print("| command | wall | CPU | torchinfo / archdsl | import torch / archdsl |")
    print("|---|---:|---:|---:|---:|")
    floor = times.get('python -c "import torch"')
    for name, (wall, cpu) in times.items():
        ratio = floor_ratio = ""
        if name.startswith("archdsl check"):
            net = name.split()[2]
            other = times.get(f"torchinfo summary {net}")
            ratio = f"{other[0] / wall:.1f}x" if other else ""
            floor_ratio = f"{floor[0] / wall:.1f}x" if floor else ""
        print(f"| {name} | {_ms(wall)} | {_ms(cpu)} | {ratio} | {floor_ratio} |")
    print()


def print_in_process(args) -> None:
    # In process: this checkout and the baseline take turns, each in a fresh interpreter; best of all turns.
    sides = {"this checkout": ROOT, **({"baseline": args.baseline} if args.baseline else {})}
    figures: dict[str, list] = {side: [] for side in sides}
    for _ in range(3 if args.baseline else 1):
        for side, where in sides.items():
            env = environment(Path(tempfile.mkdtemp(prefix="bench_check_")), where if where != ROOT else None)
            done = subprocess.run([sys.executable, __file__, "--in-process"], cwd=where, env=env, check=True,
                                  capture_output=True, text=True)
            figures[side].append(json.loads(done.stdout))
    best = {side: [min(run[i] for run in runs) for i in range(len(runs[0]))] for side, runs in figures.items()}
    print("In process, CPU seconds, best of 3 turns of each side (each turn: best of 3 loads, of 20 for ResNet-152):")
    print()
    print("| parse + analysis | " + " | ".join(f"{side}: total | per layer" for side in sides) + " |")
    print("|---:|" + "---:|---:|" * len(sides))
    for i, n in enumerate(SIZES):
        cells = " | ".join(f"{best[side][i]:.3f} s | {best[side][i] / n * 1e6:.1f} µs" for side in sides)
        print(f"| {n:,} generated layers | {cells} |")
    cells = " | ".join(f"{best[side][-1] * 1000:.1f} ms | " for side in sides)
    print(f"| ResNet-152 re-analysis (`archdsl.load`) | {cells}|")


def in_process_figures() -> list[float]:
    """Best seconds for each generated size (of 3), then for one more ResNet-152 load (of 20)."""
    return [best for _, best, _ in scaling()] + [reanalysis()]


if __name__ == "__main__":
    main()

"""The segverify benchmark: python bench/run.py [--quick]

For each size it generates a synthetic prefecture network (not timed), then in a fresh subprocess
(so peak memory of one size does not mix with another) measures:

* parse floor — bare YAML load (libyaml) of the same files, nothing else;
* fast floor — the fastest parse of the same bytes into Python data (yaml-rs, the ``bench`` extra);
* load — ``segverify.load`` (parse, spans, schema, model);
* compile — ``Network(topology)``;
* propagation — each engine propagation ``verify`` runs (the first one, all sources, is "engine");
* verify — every rule of the profile, witnesses included;
* full check — load + compile + verify, what ``segverify check`` does;
* peak memory — ru_maxrss of the subprocess.

At the 1,203-node prefecture it times ``check``, ``report``, ``draw`` and ``matrix --plot`` as whole
processes, in turn, and compares each with ``check``. At 1,000 devices it times ``whatif
--k-failures 1`` (every single failure) as one whole process.

In another subprocess it runs the plain baseline (bench/baseline.py: simple paths per endpoint
pair, header sets per path) under a time cap. It checks that every planted violation is found, and
writes bench/results.md (and bench/results.json) with the machine, times, ratios and fitted growth
exponents.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GIB = 1024 ** 3


@dataclass(frozen=True)
class Size:
    label: str
    municipalities: int
    devices: int  # per municipality
    rules: int  # per boundary firewall (three per municipality)
    cap: int  # seconds for the segverify measurement
    baseline_cap: int

    @property
    def total_devices(self) -> int:
        return self.municipalities * self.devices + 3

    @property
    def total_rules(self) -> int:
        return self.municipalities * 3 * self.rules


SIZES = [
    Size("100 dev / 1k rules", 2, 50, 167, 600, 60),
    Size("1k dev / 5k rules", 4, 250, 417, 900, 30),
    Size("250 dev / 20k rules", 2, 125, 3333, 900, 30),
    Size("1k dev / 20k rules", 4, 250, 1667, 1200, 30),
    Size("10k dev / 200k rules", 40, 250, 1667, 900, 30),
]
QUICK = [
    Size("100 dev / 1k rules", 2, 50, 167, 300, 20),
    Size("300 dev / 3k rules", 2, 150, 500, 600, 20),
]
MODEL = "alpha"
SEED = 2026
INJECT = 9


def rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def emit(**record: object) -> None:
    print(json.dumps(record), flush=True)


# -- inside the measuring subprocess ------------------------------------------------------------


def measure(directory: Path) -> None:
    import datetime as _dt
    import importlib.metadata

    import yaml

    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    files = [directory / manifest["main"], *sorted((directory / "municipalities").glob("*.yaml"))]
    t = time.perf_counter()
    for f in files:
        yaml.load(f.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    emit(phase="parse", seconds=time.perf_counter() - t, rss=rss_bytes())
    try:  # the fastest parse of the same bytes into Python data we can install: the reading floor
        import yaml_rs
    except ImportError:
        pass
    else:
        t = time.perf_counter()
        for f in files:
            yaml_rs.loads(f.read_text(encoding="utf-8"))
        emit(phase="fast-parse", seconds=time.perf_counter() - t, rss=rss_bytes(),
             parser=f"yaml-rs {importlib.metadata.version('yaml-rs')}")

    t = time.perf_counter()
    import segverify
    import segverify.build  # noqa: F401 - imported before load is timed, as yaml_rs is before its floor
    import segverify.reader  # noqa: F401
    from segverify import reach
    from segverify.generate import found
    from segverify.network import Network
    from segverify.policy.check import verify

    propagations: list[float] = []
    original = reach.Reachability.__init__

    def timed(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        original(self, *args, **kwargs)
        propagations.append(time.perf_counter() - start)
        emit(phase="propagation", seconds=propagations[-1], blocked=len(self.blocked), rss=rss_bytes())

    emit(phase="import", seconds=time.perf_counter() - t, rss=rss_bytes())
    reach.Reachability.__init__ = timed  # type: ignore[method-assign]
    t = time.perf_counter()
    topo = segverify.load(directory / manifest["main"])
    emit(phase="load", seconds=time.perf_counter() - t, rss=rss_bytes())
    t = time.perf_counter()
    net = Network(topo)
    emit(phase="compile", seconds=time.perf_counter() - t, rss=rss_bytes(), endpoints=len(net.endpoints))
    t = time.perf_counter()
    report = verify(topo, today=_dt.date.fromisoformat(manifest["check_date"]), network=net)
    seconds = time.perf_counter() - t
    missed = [v["id"] + " " + v["kind"] for v in manifest["violations"] if not found(report, v)]
    hyg = {(dict(f.subject)["node"], dict(f.subject)["acl"], int(dict(f.subject)["line"]))
           for f in report.active if f.rule == "HYG001"}
    shadowed_missed = [s for s in manifest["shadowed"] if (s["node"], s["acl"], s["line"]) not in hyg]
    emit(phase="verify", seconds=seconds, rss=rss_bytes(), propagations=propagations, errors=report.errors,
         warnings=report.warnings, planted=len(manifest["violations"]), missed=missed,
         shadowed=len(manifest["shadowed"]), shadowed_missed=len(shadowed_missed))


def measure_baseline(directory: Path, cap: float) -> None:
    sys.path.insert(0, str(HERE))
    import segverify
    from baseline import all_pairs
    from segverify.network import Network

    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    t = time.perf_counter()
    topo = segverify.load(directory / manifest["main"])
    net = Network(topo)
    prepared = time.perf_counter() - t
    emit(phase="baseline-prepare", seconds=prepared, rss=rss_bytes())
    result = all_pairs(net, deadline=time.perf_counter() + cap)
    emit(phase="baseline", seconds=result.seconds, finished=result.finished, pairs_done=result.pairs_done,
         pairs_total=result.pairs_total, paths=result.paths, rss=rss_bytes())


# -- the driver -----------------------------------------------------------------------------------


def run_child(args: list[str], timeout: float, env: dict[str, str] | None = None) -> tuple[list[dict[str, object]], bool]:
    """Run a measuring subprocess; return its records and whether it ran to the end in time."""
    with tempfile.TemporaryFile(mode="w+") as out:
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), *args], stdout=out,
                                stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
        try:
            proc.wait(timeout=timeout)
            complete = proc.returncode == 0
        except subprocess.TimeoutExpired:
            try:  # the high-water mark of the run that is about to be stopped
                status = Path(f"/proc/{proc.pid}/status").read_text()
                hwm = next(int(x.split()[1]) * 1024 for x in status.splitlines() if x.startswith("VmHWM"))
                print(json.dumps({"phase": "stopped", "seconds": timeout, "rss": hwm}), file=out, flush=True)
            except (OSError, StopIteration):
                pass
            proc.kill()
            proc.wait()
            complete = False
        out.seek(0)
        records = [json.loads(line) for line in out if line.startswith("{")]
    return records, complete


def machine() -> dict[str, str]:
    import importlib.metadata

    import dd
    import networkx
    import yaml

    import segverify

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {
        "cpu": cpu, "cores": str(os.cpu_count()), "memory": memory, "os": platform.platform(),
        "python": platform.python_version(), "segverify": segverify.__version__, "dd": dd.__version__,
        "networkx": networkx.__version__, "pyyaml": f"{yaml.__version__} (libyaml {'yes' if yaml.__with_libyaml__ else 'no'})",
        "click": importlib.metadata.version("click"),
        "yaml-rs (fast floor)": _version("yaml-rs"),
    }


def _version(distribution: str) -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def one_size(size: Size, work: Path) -> dict[str, object]:
    from segverify.generate import generate

    directory = work / f"m{size.municipalities}-d{size.devices}-r{size.rules}"
    if directory.exists():
        shutil.rmtree(directory)
    t = time.perf_counter()
    net = generate(size.municipalities, size.devices, size.rules, MODEL, SEED, INJECT, directory)
    generated = time.perf_counter() - t
    print(f"[bench] {size.label}: generated {net.manifest['totals']} in {generated:.1f}s", file=sys.stderr, flush=True)
    records, complete = run_child(["--measure", str(directory)], size.cap)
    phases = {r["phase"]: r for r in records if r["phase"] not in ("propagation", "stopped")}
    stopped = [r for r in records if r["phase"] == "stopped"]
    props = [r for r in records if r["phase"] == "propagation"]
    print(f"[bench] {size.label}: segverify {'done' if complete else 'stopped'}: "
          + ", ".join(f"{k} {v['seconds']:.1f}s" for k, v in phases.items()), file=sys.stderr, flush=True)
    base_records, _ = run_child(["--measure-baseline", str(directory), "--baseline-cap", str(size.baseline_cap)],
                                size.baseline_cap + 600)
    base = {r["phase"]: r for r in base_records}
    print(f"[bench] {size.label}: baseline {base.get('baseline', {})}", file=sys.stderr, flush=True)
    whole = whole_check(size, directory, net.manifest["check_date"], work) if size.label in BEFORE_SIZES else None
    return {"size": size.__dict__ | {"total_devices": size.total_devices, "total_rules": size.total_rules},
            "totals": net.manifest["totals"], "files_bytes": sum(p.stat().st_size for p in directory.rglob("*.yaml")),
            "complete": complete, "phases": phases, "propagations": props, "baseline": base,
            "stopped_rss": stopped[0]["rss"] if stopped else None, "whole": whole,
            "directory": str(directory)}


WHOLE_PAIRS = {"1k dev / 20k rules": 3, "10k dev / 200k rules": 1}


def whole_check(size: Size, directory: Path, day: str, work: Path) -> dict[str, list[dict[str, float]]]:
    """``segverify -q check`` as a whole process, as a user runs it: the default (a network of this size
    uses a second core) and ``SEGVERIFY_JOBS=1`` (one process), in alternating pairs, so a busy spell
    hits both alike. The target is the default's wall time."""
    base = dict(os.environ)
    args = ["check", str(directory / "network.yaml"), "--today", day, "--format", "json",
            "-o", str(work / "whole-check.json")]
    runs: dict[str, list[dict[str, float]]] = {"default": [], "one process": []}
    for _ in range(WHOLE_PAIRS.get(size.label, 1)):
        runs["default"].append(run_timed(args, size.cap, {k: v for k, v in base.items() if k != "SEGVERIFY_JOBS"}))
        runs["one process"].append(run_timed(args, size.cap, base | {"SEGVERIFY_JOBS": "1"}))
    print(f"[bench] {size.label}: whole check {runs}", file=sys.stderr, flush=True)
    return runs


def diff_timing(result: dict[str, object], env: dict[str, str] | None = None) -> dict[str, object]:
    """Time `segverify diff OLD NEW` where NEW changes one ACL line of OLD (1,000-device network)."""
    directory = Path(str(result["directory"]))
    changed = directory.parent / (directory.name + "-changed")
    if changed.exists():
        shutil.rmtree(changed)
    shutil.copytree(directory, changed)
    target = changed / "municipalities" / "m01.yaml"
    text = target.read_text(encoding="utf-8")
    old = "dst: any, service: [web, smtp, dns, ntp, ping]"
    if old not in text:
        return {"error": "no line to change"}
    target.write_text(text.replace(old, "dst: any, service: [web, smtp, dns, ntp]", 1), encoding="utf-8")
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "segverify", "diff", str(directory / "network.yaml"),
                           str(changed / "network.yaml")], capture_output=True, text=True, cwd=ROOT, timeout=900,
                          env=env)
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "exit": proc.returncode, "stderr": proc.stderr[-300:]}


PIPELINE = (20, 60, 60)  # municipalities, devices each, rules per firewall: the 1,203-node prefecture
PIPELINE_RUNS = 3


def run_timed(args: list[str], timeout: float, env: dict[str, str] | None = None) -> dict[str, float]:
    """One whole ``segverify`` process: its own CPU seconds (user + sys), wall seconds and peak memory."""
    with tempfile.TemporaryFile() as sink:
        t = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "segverify", "-q", *args], stdout=sink, stderr=sink, cwd=ROOT,
                                env=env)
        deadline = t + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"cpu": usage.ru_utime + usage.ru_stime, "wall": wall, "rss": usage.ru_maxrss * 1024,
            "exit": proc.returncode}


def pipeline_timing(work: Path, before: dict[str, str] | None = None) -> dict[str, object]:
    """check, report, draw and matrix --plot at the 1,203-node prefecture, each as a whole process;
    with ``before`` (the environment of older code) each once more with that code, after the others."""
    from segverify.generate import generate

    directory = work / "pipeline"
    if directory.exists():
        shutil.rmtree(directory)
    net = generate(*PIPELINE, MODEL, SEED, INJECT, directory)
    main, day = str(directory / "network.yaml"), net.manifest["check_date"]
    out = work / "pipeline-out"
    out.mkdir(exist_ok=True)
    commands = {
        "check": ["check", main, "--today", day, "-o", str(out / "check.txt")],
        "report": ["report", main, "--today", day, "-o", str(out / "report.html")],
        "draw": ["draw", main, "--today", day, "-o", str(out / "map.png")],
        "matrix --plot": ["matrix", main, "--today", day, "--plot", str(out / "matrix.png")],
    }
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in commands}
    for _ in range(PIPELINE_RUNS):  # in turn, so a slow spell of the machine hits every command alike
        for name, args in commands.items():
            runs[name].append(run_timed(args, 900))
    print(f"[bench] pipeline: {runs}", file=sys.stderr, flush=True)
    old = {name: run_timed(args, 900, before) for name, args in commands.items()} if before is not None else None
    return {"nodes": net.manifest["totals"]["nodes"], "runs": runs, "before": old}


BEFORE_SIZES = ("1k dev / 20k rules", "10k dev / 200k rules")  # the sizes the targets name


def byte_compile(src: Path) -> None:
    """Write the bytecode of every module under ``src``, as pip does when it installs a wheel: an
    environment with PYTHONDONTWRITEBYTECODE (this machine's) would otherwise compile segverify's
    sources in every timed process (about 0.2 s a start, most of it the generated schema validator)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], check=True, stdout=subprocess.DEVNULL)


def code_of(rev: str, into: Path) -> dict[str, str]:
    """The environment of a process that imports segverify as it was at ``rev`` (``git archive``)."""
    where = into / "before-code"
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", rev, "src"], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    byte_compile(where / "src")
    return {**os.environ, "PYTHONPATH": str(where / "src")}


def before_size(result: dict[str, object], env: dict[str, str]) -> dict[str, object]:
    """The same measurement of the same generated network with the older code."""
    records, complete = run_child(["--measure", str(result["directory"])], float(result["size"]["cap"]), env)  # type: ignore[index]
    return {"complete": complete, "phases": {r["phase"]: r for r in records if r["phase"] not in ("propagation", "stopped")},
            "propagations": [r for r in records if r["phase"] == "propagation"]}


WHATIF = (4, 250, 417)  # the 1,003-node network (1,000 devices, 5,000 rules) whatif is timed on


def whatif_timing(work: Path) -> dict[str, object]:
    """``whatif --k-failures 1`` at 1,000 devices, every scenario, as one whole process."""
    from segverify import load
    from segverify.failures import failure_candidates
    from segverify.generate import generate

    directory = work / "whatif"
    if directory.exists():
        shutil.rmtree(directory)
    net = generate(*WHATIF, MODEL, SEED, INJECT, directory)
    scenarios = len(failure_candidates(load(str(directory / "network.yaml"))))
    run = run_timed(["whatif", str(directory / "network.yaml"), "--k-failures", "1", "--today",
                     net.manifest["check_date"], "--format", "json"], 1800)
    print(f"[bench] whatif: {run}", file=sys.stderr, flush=True)
    return {"nodes": net.manifest["totals"]["nodes"], "scenarios": scenarios, **run}


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def whole_medians(result: dict[str, object]) -> dict[str, dict[str, float]] | None:
    """Medians of the whole-process checks of one size (see whole_check), or None if not measured."""
    runs = result.get("whole")
    if not isinstance(runs, dict) or not all(runs.get(k) for k in ("default", "one process")):
        return None
    medians = {kind: {key: median([float(run[key]) for run in runs[kind]]) for key in ("wall", "cpu", "rss")}
               for kind in ("default", "one process")}
    return medians


def fit(points: list[tuple[float, float, float]]) -> tuple[float, float] | None:
    """Least squares of log t = a + b log devices + c log rules; returns (b, c)."""
    if len(points) < 3:
        return None
    rows = [(1.0, math.log(d), math.log(r)) for d, r, _ in points]
    ys = [math.log(t) for _, _, t in points]
    ata = [[sum(row[i] * row[j] for row in rows) for j in range(3)] for i in range(3)]
    aty = [sum(row[i] * y for row, y in zip(rows, ys)) for i in range(3)]
    try:
        solution = _solve(ata, aty)
    except ZeroDivisionError:
        return None
    return solution[1], solution[2]


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        if abs(m[pivot][col]) < 1e-12:
            raise ZeroDivisionError
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(n):
            if r != col:
                f = m[r][col] / m[col][col]
                m[r] = [x - f * y for x, y in zip(m[r], m[col])]
    return [m[i][n] / m[i][i] for i in range(n)]


def fmt_s(value: object) -> str:
    return "—" if value is None else f"{float(value):.2f}"  # type: ignore[arg-type]


def render(results: list[dict[str, object]], info: dict[str, str], diff: dict[str, object] | None,
           quick: bool, wall: float, pipeline: dict[str, object] | None = None,
           whatif: dict[str, object] | None = None) -> str:
    lines = ["# segverify benchmark results", "",
             f"Produced by `python bench/run.py{' --quick' if quick else ''}` in {wall / 60:.0f} min. "
             f"Model {MODEL}, seed {SEED}, {INJECT} planted violations per network. Times in seconds; "
             "generation is not timed. See docs/benchmarks.md for how to read this file.", "",
             "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    lines += ["", "## Times", "",
              "The parse floor is PyYAML's C loader; the fast floor is the fastest parse of the same bytes into "
              "Python data we can install (yaml-rs), measured in the same process.", "",
              "`load` is timed after segverify's modules are imported (as the floors are after their parsers'); "
              "the import, once per process, is its own column.", "",
              "| size | nodes | ACL lines | YAML MB | parse floor | fast floor | imports | load | load / fast floor | compile | engine (1st propagation) | all propagations | verify | full check | check / parse | peak MiB |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    points_full: list[tuple[float, float, float]] = []
    points_engine: list[tuple[float, float, float]] = []
    for r in results:
        ph: dict[str, dict[str, object]] = r["phases"]  # type: ignore[assignment]
        props = [float(p["seconds"]) for p in r["propagations"]]  # type: ignore[union-attr]
        parse = ph.get("parse", {}).get("seconds")
        fast = ph.get("fast-parse", {}).get("seconds")
        parts = [ph.get(k, {}).get("seconds") for k in ("load", "compile", "verify")]
        full = sum(float(x) for x in parts) if all(x is not None for x in parts) else None  # type: ignore[arg-type]
        peak = max((float(p.get("rss", 0)) for p in [*ph.values(), *r["propagations"]]), default=0)  # type: ignore[union-attr]
        peak = max(peak, float(r.get("stopped_rss") or 0))  # type: ignore[arg-type]
        size = r["size"]
        d, n = float(size["total_devices"]), float(size["total_rules"])  # type: ignore[index]
        if full is not None:
            points_full.append((d, n, full))
        if props:
            points_engine.append((d, n, props[0]))
        r["full_check"] = full
        r["peak"] = peak
        status = "" if r["complete"] else " (stopped at cap)"
        lines.append(
            f"| {size['label']}{status} | {r['totals']['nodes']} | {r['totals']['acl_rules']} | "  # type: ignore[index]
            f"{int(r['files_bytes']) / 1e6:.1f} | {fmt_s(parse)} | {fmt_s(fast)} | {fmt_s(ph.get('import', {}).get('seconds'))} | {fmt_s(parts[0])} | "
            f"{f'{float(parts[0]) / float(fast):.1f}×' if parts[0] and fast else '—'} | {fmt_s(parts[1])} | "
            f"{fmt_s(props[0] if props else None)}{'' if props else ' (not reached)'} | {fmt_s(sum(props)) if props else '—'} ({len(props)}) | "
            f"{fmt_s(parts[2])} | {fmt_s(full)} | {fmt_s(full / float(parse)) if full and parse else '—'} | {peak / 2**20:.0f} |")
    wholes = [(r, whole_medians(r)) for r in results]
    if any(w is not None for _, w in wholes):
        lines += ["", "## `check` as a whole process", "",
                  "`segverify -q check NETWORK --format json` as a user runs it, at the sizes the targets name: the "
                  "default (from 500 devices a forked worker uses the second core) and `SEGVERIFY_JOBS=1`, in "
                  "alternating pairs; medians. CPU is user + system seconds of the process and the children it "
                  "waited for; peak is the largest process's resident set.", "",
                  "| size | runs | default wall s | default CPU s | default peak MiB | one process wall s | "
                  "one process CPU s | one process peak MiB | default / one process (wall) |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r, w in wholes:
            if w is None:
                continue
            default, one = w["default"], w["one process"]
            pairs = len(r["whole"]["default"])  # type: ignore[index]
            lines.append(f"| {r['size']['label']} | {pairs} | {default['wall']:.2f} | {default['cpu']:.2f} | "  # type: ignore[index]
                         f"{default['rss'] / 2**20:.0f} | {one['wall']:.2f} | {one['cpu']:.2f} | {one['rss'] / 2**20:.0f} | "
                         f"{default['wall'] / one['wall']:.2f} |")
    ratios_pipeline: dict[str, tuple[float, float, float]] = {}  # wall s; × check by wall, by CPU
    if pipeline is not None:
        runs: dict[str, list[dict[str, float]]] = pipeline["runs"]  # type: ignore[assignment]
        lines += ["", f"## The whole pipeline at the {int(pipeline['nodes']):,}-node prefecture", "",  # type: ignore[call-overload]
                  f"Each command as a whole process (`segverify -q COMMAND`), {PIPELINE_RUNS} rounds, the commands in "
                  "turn in each; medians. CPU is user + system seconds of the process and the children it waited "
                  "for. The ratios to `check` are taken round by round (a slow spell of the machine hits a round's "
                  "commands alike), then their median; the target reads the wall ratio: with a second core, CPU "
                  "seconds count the work of both and no longer measure how long one waits.", "",
                  "| command | wall s | CPU s | × check (wall) | × check (CPU) | peak MiB |", "|---|---|---|---|---|---|"]
        for name, rs in runs.items():
            by_wall = median([r["wall"] / c["wall"] for r, c in zip(rs, runs["check"])])
            by_cpu = median([r["cpu"] / c["cpu"] for r, c in zip(rs, runs["check"])])
            wall_s, cpu = median([r["wall"] for r in rs]), median([r["cpu"] for r in rs])
            ratios_pipeline[name] = (wall_s, by_wall, by_cpu)
            lines.append(f"| `{name}` | {wall_s:.2f} | {cpu:.2f} | {by_wall:.2f}× | {by_cpu:.2f}× | "
                         f"{max(r['rss'] for r in rs) / 2**20:.0f} |")
    if whatif is not None and "cpu" in whatif:
        lines += ["", f"## whatif at {int(whatif['nodes']):,} nodes", "",  # type: ignore[call-overload]
                  "`segverify -q whatif NET --k-failures 1` as one whole process: every single failure "
                  "(each link, LAN and forwarding device) played out.", "",
                  "| nodes | scenarios | CPU s | wall s | peak MiB |", "|---|---|---|---|---|",
                  f"| {int(whatif['nodes']):,} | {whatif['scenarios']} | {float(whatif['cpu']):.2f} | "  # type: ignore[call-overload, arg-type]
                  f"{float(whatif['wall']):.2f} | {float(whatif['rss']) / 2**20:.0f} |"]  # type: ignore[arg-type]
    lines += ["", "## Against the plain baseline", "",
              "The baseline (bench/baseline.py) enumerates simple paths per endpoint pair and evaluates header sets "
              "per path with the same compiled BDDs. It answers the same question as one engine propagation "
              "(all sources, all destinations). When it hits its time cap, the full time is extrapolated from "
              "the pairs done (pairs are of similar cost within a size).", "",
              "| size | endpoint pairs | pairs done | paths | baseline time | baseline (extrapolated, all pairs) | engine | engine speed-up |",
              "|---|---|---|---|---|---|---|---|"]
    for r in results:
        b: dict[str, dict[str, object]] = r["baseline"]  # type: ignore[assignment]
        props = [float(p["seconds"]) for p in r["propagations"]]  # type: ignore[union-attr]
        row = b.get("baseline")
        if row is None:
            lines.append(f"| {r['size']['label']} | — | — | — | did not start (load/compile over budget) | — | — | — |")  # type: ignore[index]
            continue
        done, total, secs = int(row["pairs_done"]), int(row["pairs_total"]), float(row["seconds"])  # type: ignore[arg-type]
        extra = secs * total / done if done else None
        shown = f"{secs:.1f}" if row["finished"] else f"did not finish in {secs:.0f} s"
        engine = props[0] if props else None
        speed = (extra / engine) if (extra and engine) else None
        lines.append(f"| {r['size']['label']} | {total:,} | {done:,} | {row['paths']:,} | {shown} | "  # type: ignore[index]
                     f"{fmt_s(extra)} | {fmt_s(engine)} | {f'{speed:.0f}×' if speed else '—'} |")
    lines += ["", "## Planted violations", "", "| size | planted | missed | planted HYG001 | missed HYG001 | errors | warnings |",
              "|---|---|---|---|---|---|---|"]
    all_found = True
    for r in results:
        v = r["phases"].get("verify")  # type: ignore[union-attr]
        if v is None:
            all_found = False
            lines.append(f"| {r['size']['label']} | — | not checked (stopped) | — | — | — | — |")  # type: ignore[index]
            continue
        all_found &= not v["missed"] and not v["shadowed_missed"]
        lines.append(f"| {r['size']['label']} | {v['planted']} | {', '.join(v['missed']) or 'none'} | {v['shadowed']} | "  # type: ignore[index]
                     f"{v['shadowed_missed']} | {v['errors']} | {v['warnings']} |")
    lines += ["", "## Growth", ""]
    for name, pts in (("full check", points_full), ("engine propagation", points_engine)):
        f = fit(pts)
        if f:
            lines.append(f"- {name}: time ∝ devices^{f[0]:.2f} × rules^{f[1]:.2f} (log-log least squares over "
                         f"{len(pts)} sizes that finished)")
        else:
            lines.append(f"- {name}: too few finished sizes to fit ({len(pts)})")
    lines += _before_after(results, diff, pipeline)
    lines += ["", "## Targets", ""]
    by_label = {r["size"]["label"]: r for r in results}  # type: ignore[index]

    def target(label: str, limit: float) -> str:
        r = by_label.get(label)
        if r is None:
            return "not measured in this run"
        whole = whole_medians(r)
        full = r.get("full_check")
        if whole is not None:  # what a user runs: the whole `segverify check` process, its default
            seconds, how = whole["default"]["wall"], (f"`segverify check` {whole['default']['wall']:.1f} s wall "
                                                      f"(one process: {whole['one process']['wall']:.1f} s)")
        elif full is not None:
            seconds, how = float(full), f"{float(full):.1f} s in one process"  # type: ignore[arg-type]
        else:
            return f"**missed**: did not finish within the {r['size']['cap']} s cap"  # type: ignore[index]
        return (f"met: {how}" if seconds <= limit
                else f"**missed** by {seconds - limit:.1f} s ({seconds / limit:.2f}× the target): {how}")

    lines.append(f"- 1,000 devices / 20,000 rules, full check ≤ 4 s: {target('1k dev / 20k rules', 4)}")
    lines.append(f"- 10,000 devices / 200,000 rules, full check ≤ 60 s: {target('10k dev / 200k rules', 60)}")
    big = by_label.get("10k dev / 200k rules")
    if big is not None:
        peak = float(big["peak"])  # type: ignore[arg-type]
        lines.append(f"- 10,000 devices / 200,000 rules, peak memory ≤ 2 GiB: "
                     f"{'met' if peak <= 2 * GIB and big['complete'] else '**missed**' if peak > 2 * GIB else 'unknown (run stopped)'}: "
                     f"{peak / GIB:.2f} GiB{'' if big['complete'] else ' (high-water mark when stopped at the cap)'}")
    loads = []
    for r in results:
        fast = r["phases"].get("fast-parse", {}).get("seconds")  # type: ignore[union-attr]
        load = r["phases"].get("load", {}).get("seconds")  # type: ignore[union-attr]
        if fast and load:
            loads.append((r["size"]["label"], float(load) / float(fast)))  # type: ignore[index, arg-type]
    worst_load = max(loads, key=lambda x: x[1], default=None)
    if worst_load:
        lines.append(f"- `segverify.load` ≤ 2× the fast floor at every size: "
                     f"{'met' if worst_load[1] <= 2 else '**missed**'}; worst {worst_load[1]:.0f}× at {worst_load[0]}; "
                     + ", ".join(f"{lab} {x:.0f}×" for lab, x in loads))
    else:
        lines.append("- `segverify.load` ≤ 2× the fast floor: not measured (yaml-rs not installed)")
    for name in ("report", "matrix --plot", "draw"):
        if name in ratios_pipeline:
            ratio = ratios_pipeline[name][1]
            lines.append(f"- `{name}` at the prefecture ≤ 1.5× `check`: {'met' if ratio <= 1.5 else '**missed**'}: "
                         f"{ratio:.2f}× by wall time ({ratios_pipeline[name][0]:.1f} s; by CPU "
                         f"{ratios_pipeline[name][2]:.2f}×)")
        else:
            lines.append(f"- `{name}` at the prefecture ≤ 1.5× `check`: not measured in this run")
    if diff is not None:
        if "seconds" in diff and diff.get("exit") in (0, 1):
            ok = float(diff["seconds"]) <= 1  # type: ignore[arg-type]
            lines.append(f"- diff of a one-rule change, 1,000 devices, ≤ 1 s: {'met' if ok else '**missed**'}: "
                         f"`segverify diff` took {float(diff['seconds']):.1f} s")  # type: ignore[arg-type]
        else:
            lines.append(f"- diff of a one-rule change, 1,000 devices, ≤ 1 s: not measured ({diff})")
    if whatif is not None and whatif.get("exit") in (0, 1):
        seconds = float(whatif["wall"])  # type: ignore[arg-type]
        verdict = "met" if seconds <= 60 else f"**missed** by {seconds - 60:.1f} s"
        lines.append(f"- `whatif --k-failures 1` at 1,000 devices ≤ 60 s: {verdict}: "
                     f"{whatif['scenarios']} scenarios in {seconds:.1f} s "
                     f"({float(whatif['cpu']):.1f} s CPU)")  # type: ignore[arg-type]
    else:
        lines.append(f"- `whatif --k-failures 1` at 1,000 devices ≤ 60 s: not measured in this run"
                     f"{'' if whatif is None else f' ({whatif})'}")
    lines.append(f"- every planted violation found at every size: {'met' if all_found else '**not shown**'} "
                 "(see the table above; a size stopped at its cap is not shown)")
    lines += ["", "## Why targets are missed", "", "WHY_PLACEHOLDER", ""]
    return "\n".join(lines)


def _before_after(results: list[dict[str, object]], diff: dict[str, object] | None,
                  pipeline: dict[str, object] | None) -> list[str]:
    """The targets' figures with the code of ``--before REV`` and now, measured in the same run."""
    rows: list[tuple[str, float, float, str]] = []
    rev = ""
    for r in results:
        old = r.get("before")
        if not isinstance(old, dict):
            continue
        rev = str(old["rev"])
        label = r["size"]["label"]  # type: ignore[index]
        was: dict[str, dict[str, object]] = old["phases"]
        now: dict[str, dict[str, object]] = r["phases"]  # type: ignore[assignment]
        parts_was = [was.get(k, {}).get("seconds") for k in ("load", "compile", "verify")]
        if all(x is not None for x in parts_was) and r.get("full_check") is not None:
            total = sum(float(str(x)) for x in parts_was)
            rows.append((f"{label}: full check (s)", total, float(str(r["full_check"])), "s"))
        for phase in ("load", "compile", "verify"):
            if phase in was and phase in now:
                rows.append((f"{label}: {phase} (s)", float(was[phase]["seconds"]), float(now[phase]["seconds"]), "s"))  # type: ignore[arg-type]
        peaks = [max(float(str(p.get("rss", 0))) for p in [*ph.values(), *props])
                 for ph, props in ((was, list(old["propagations"])), (now, list(r["propagations"])))]  # type: ignore[call-overload]
        rows.append((f"{label}: peak memory (GiB)", peaks[0] / GIB, peaks[1] / GIB, "GiB"))
    if pipeline is not None and isinstance(pipeline.get("before"), dict):
        was_runs: dict[str, dict[str, float]] = pipeline["before"]  # type: ignore[assignment]
        now_runs: dict[str, list[dict[str, float]]] = pipeline["runs"]  # type: ignore[assignment]
        for name in ("report", "matrix --plot", "draw"):
            rows.append((f"`{name}` at the prefecture (× `check`, wall)", was_runs[name]["wall"] / was_runs["check"]["wall"],
                         median([x["wall"] / c["wall"] for x, c in zip(now_runs[name], now_runs["check"])]), "×"))
        for name in ("check", "report", "matrix --plot", "draw"):
            rows.append((f"`{name}` at the prefecture (wall s)", was_runs[name]["wall"],
                         median([x["wall"] for x in now_runs[name]]), "s"))
    if diff is not None and isinstance(diff.get("before"), dict) and "seconds" in diff["before"]:  # type: ignore[operator]
        rows.append(("diff of a one-rule change, 1,000 devices (s)", float(diff["before"]["seconds"]),  # type: ignore[index]
                     float(diff["seconds"]), "s"))  # type: ignore[arg-type]
    if not rows:
        return []
    lines = ["", f"## Before → after (`{rev}` → this code, same run)", "",
             f"The targets' figures with the code of `{rev}` (from `git archive`) and with this code, on the same "
             "generated networks in the same run (`--before REV`); the pipeline's before is one run of each command.", "",
             "| figure | before | after | after / before |", "|---|---|---|---|"]
    for name, was_value, now_value, unit in rows:
        ratio = now_value / was_value if was_value else float("nan")
        lines.append(f"| {name} | {was_value:.2f} | {now_value:.2f} | {ratio:.2f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two small sizes, short caps (a smoke test)")
    parser.add_argument("--only", help="comma-separated size labels to run (default: all)")
    parser.add_argument("--work", help="directory for generated networks (default: a temporary one)")
    parser.add_argument("--no-diff", action="store_true", help="skip the diff timing")
    parser.add_argument("--no-pipeline", action="store_true", help="skip check/report/draw/matrix at the prefecture")
    parser.add_argument("--no-whatif", action="store_true", help="skip whatif --k-failures 1 at 1,000 devices")
    parser.add_argument("--before", metavar="REV", help="also measure the target sizes, the pipeline and diff with "
                        "the code of this git revision, in the same run (the before of each target)")
    parser.add_argument("--render", action="store_true", help="rewrite results.md from results.json only")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--measure-baseline", help=argparse.SUPPRESS)
    parser.add_argument("--baseline-cap", type=float, default=60, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(Path(args.measure))
        return
    if args.measure_baseline:
        measure_baseline(Path(args.measure_baseline), args.baseline_cap)
        return
    if args.render:
        saved = json.loads((HERE / "results.json").read_text(encoding="utf-8"))
        write_markdown(saved["results"], saved["machine"], saved["diff"], args.quick, saved.get("wall", 0.0),
                       saved.get("pipeline"), saved.get("whatif"))
        return
    sizes = QUICK if args.quick else SIZES
    if args.only:
        wanted = set(args.only.split(","))
        sizes = [s for s in sizes if s.label in wanted]
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="segverify-bench-"))
    byte_compile(ROOT / "src")
    start = time.perf_counter()
    results = [one_size(size, work) for size in sizes]
    before = code_of(args.before, work) if args.before else None
    if before is not None:
        for r in results:
            if r["size"]["label"] in BEFORE_SIZES:  # type: ignore[index]
                r["before"] = before_size(r, before) | {"rev": args.before}
    diff = None
    thousand = next((r for r in results if r["size"]["label"] == "1k dev / 20k rules"), None)  # type: ignore[index]
    if thousand is not None and not args.no_diff:
        diff = diff_timing(thousand)
        if before is not None:
            diff["before"] = diff_timing(thousand, before)
    pipeline = None if args.quick or args.no_pipeline else pipeline_timing(work, before)
    whatif = None if args.quick or args.no_whatif else whatif_timing(work)
    info = machine()
    for r in results:
        r.pop("directory", None)  # a path of this machine: not for the repository
    wall = time.perf_counter() - start
    if args.only and (HERE / "results.json").exists():
        # Rerunning some sizes keeps the others' recorded results (same machine, stated in the file).
        saved = json.loads((HERE / "results.json").read_text(encoding="utf-8"))
        fresh = {r["size"]["label"]: r for r in results}  # type: ignore[index]
        order = [size.label for size in (QUICK if args.quick else SIZES)]
        merged = {r["size"]["label"]: r for r in saved["results"]}
        merged.update(fresh)
        results = sorted(merged.values(), key=lambda r: order.index(r["size"]["label"])  # type: ignore[index]
                         if r["size"]["label"] in order else len(order))  # type: ignore[index]
        diff = diff if diff is not None else saved.get("diff")
        pipeline = pipeline if pipeline is not None else saved.get("pipeline")
        whatif = whatif if whatif is not None else saved.get("whatif")
        wall += float(saved.get("wall", 0.0))
    (HERE / "results.json").write_text(json.dumps({"machine": info, "results": results, "diff": diff, "wall": wall,
                                                   "pipeline": pipeline, "whatif": whatif}, indent=2,
                                                  default=str) + "\n",
                                       encoding="utf-8")
    write_markdown(results, info, diff, args.quick, wall, pipeline, whatif)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


# Sections of results.md written by the other scripts of bench/ (stanford.py, policies.py, diff_incremental.py,
# whatif_incremental.py): kept as they are.
OTHER_SECTIONS = ("## The Stanford backbone", "## Zone-pair policies against ACLs", "## diff, incremental",
                  "## whatif, incremental")


def _other_scripts_sections(text: str) -> str:
    parts = text.split("\n## ")
    sections = [("## " + part if i else part) for i, part in enumerate(parts)]
    return "\n".join(sec.rstrip() + "\n" for sec in sections if sec.startswith(OTHER_SECTIONS))


def write_markdown(results: list[dict[str, object]], info: dict[str, str], diff: dict[str, object] | None,
                   quick: bool, wall: float, pipeline: dict[str, object] | None = None,
                   whatif: dict[str, object] | None = None) -> None:
    text = render(results, info, diff, quick, wall, pipeline, whatif)
    notes = HERE / "analysis.md"
    text = text.replace("WHY_PLACEHOLDER", notes.read_text(encoding="utf-8").strip() if notes.exists()
                        else "(no analysis recorded)")
    target = HERE / "results.md"
    kept = _other_scripts_sections(target.read_text(encoding="utf-8")) if target.exists() else ""
    target.write_text(text.rstrip() + "\n" + (f"\n{kept}" if kept else ""), encoding="utf-8")
    print(f"[bench] wrote {HERE / 'results.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""uvnb benchmark: uvnb vs its floor (plain uv on the same PEP 723 script) vs juv (issue #3).

Run through ``bench/run`` (``--quick`` for a ~1 min smoke run). Every scenario runs its
variants side by side: a discarded warm-up round, then N rounds; inside a round the variants
run in a rotating order so that drift (cache, CPU clock, page cache) hits all of them alike.
Each round of each variant gets its own fresh copy of the notebook/script it may mutate
(copied before the timer starts). Timing is ``time.perf_counter`` around ``subprocess.run``
with an argv list (no shell). The uv cache (``bench/.work/uv-cache``) is warmed in the
fixture step, so nothing but index revalidation can reach the network.

How to add a scenario
---------------------
1. Write a function ``def my_scenario(ctx: Ctx) -> Scenario`` that does its one-time setup
   (use ``ctx.fixture(...)``, ``ctx.work``, ``ctx.tools``) and returns a ``Scenario`` with
   ``Variant``s. A variant's ``prepare(rnd)`` is called untimed before each measurement and
   returns a ``Cmd`` (one or more argvs run back to back and timed as one, plus env/cwd).
   ``rnd.dir`` is a fresh, empty folder for that variant and round. Mark the baseline variant
   ``floor=True``; add ``Target``s (``max_ratio``, ``min_speedup``, ``max_seconds``).
2. Decorate it with ``@scenario("key")``; the registry keeps declaration order.
3. Scenarios that are not "time N commands" (e.g. disk use) return a ``Report`` instead:
   a free-form markdown body plus optional ``Target``-like checks.
Kernel scenarios (kernel start vs plain ipykernel vs ``uv run --with ipykernel``; ``%add`` vs
``%pip install``) fit the same shape: ``prepare`` writes a small driver script that starts a
kernel with jupyter_client, runs one cell and shuts down, and returns ``[python, driver]``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON_PIN = "3.12"
ENV_DEPS = ["attrs", "idna", "packaging", "six"]  # small, pure Python, cached
ADD_BASE_DEPS = ["attrs", "idna", "packaging"]  # the add scenario adds "six" to this
CHECK_SETS = [["attrs"], ["six"], ["idna"], ["packaging", "six"], ENV_DEPS]


# --------------------------------------------------------------------------- data model


@dataclass
class Cmd:
    argvs: list[list[str]]
    env: dict[str, str] | None = None
    cwd: str | None = None


@dataclass
class Round:
    index: int  # -1 is the warm-up round
    dir: Path


@dataclass
class Variant:
    name: str
    prepare: Callable[[Round], Cmd]
    floor: bool = False
    note: str = ""


@dataclass
class Target:
    kind: str  # "max_ratio" | "min_speedup" | "max_seconds"
    subject: str
    limit: float
    other: str | None = None

    def describe(self) -> str:
        if self.kind == "max_ratio":
            return f"{self.subject} ≤ {self.limit:g}× {self.other}"
        if self.kind == "min_speedup":
            return f"{self.subject} ≥ {self.limit:g}× faster than {self.other}"
        return f"{self.subject} ≤ {self.limit * 1000:g} ms"

    def evaluate(self, med: dict[str, float]) -> tuple[bool, str]:
        s = med[self.subject]
        if self.kind == "max_ratio":
            r = s / med[self.other]
            return r <= self.limit, f"{r:.2f}×"
        if self.kind == "min_speedup":
            r = med[self.other] / s
            return r >= self.limit, f"{r:.2f}× faster"
        return s <= self.limit, f"{s * 1000:.0f} ms"


@dataclass
class Scenario:
    title: str
    variants: list[Variant]
    targets: list[Target] = field(default_factory=list)
    note: str = ""


@dataclass
class Report:
    title: str
    body: str
    checks: list[tuple[str, bool, str]] = field(default_factory=list)  # (target, ok, measured)


SCENARIOS: list[tuple[str, Callable[[Ctx], Scenario | Report]]] = []


def scenario(key: str):
    def register(fn):
        SCENARIOS.append((key, fn))
        return fn

    return register


# --------------------------------------------------------------------------- context


@dataclass
class Tools:
    python: str  # the interpreter that runs uvnb (its entry point's shebang)
    uvnb: str
    juv: str
    uv: str
    nb_python: str  # the real path of the pinned notebook Python


class Ctx:
    def __init__(self, venv: Path, work: Path, rounds: int, quick: bool) -> None:
        self.work = work
        self.rounds = rounds
        self.quick = quick
        bin_ = venv / "bin"
        uvnb = str(bin_ / "uvnb")
        self.tools = Tools(
            python=_shebang_python(uvnb),
            uvnb=uvnb,
            juv=str(bin_ / "juv"),
            uv=str(bin_ / "uv") if (bin_ / "uv").exists() else shutil.which("uv") or "uv",
            nb_python=_find_python(PYTHON_PIN),
        )
        self.cache = work / "uv-cache"
        self.state = work / "uvnb-state"
        self.store = work / "uvnb-envs"
        env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "CONDA_PREFIX"}}
        env.update(
            UV_CACHE_DIR=str(self.cache),
            UVNB_CACHE_DIR=str(self.cache),
            UVNB_STATE_DIR=str(self.state),
            UVNB_ENV_DIR=str(self.store),
            UV_PYTHON=self.tools.nb_python,  # juv needs it: pyenv shims defeat uv's discovery
            UV_PYTHON_DOWNLOADS="never",
            UV_NO_PROGRESS="1",
        )
        self.env = env
        self.fixtures = work / "fixtures"

    def env_with(self, **extra: str) -> dict[str, str]:
        return {**self.env, **extra}

    def run(self, argv: Sequence[str], **kw) -> subprocess.CompletedProcess:
        proc = subprocess.run(list(argv), env=kw.pop("env", self.env), capture_output=True,
                              text=True, **kw)
        if proc.returncode:
            raise SystemExit(f"setup command failed: {argv}\n{proc.stdout}{proc.stderr}")
        return proc

    def fixture(self, name: str, deps: list[str]) -> Path:
        """A notebook pinned to PYTHON_PIN with ``deps`` added and locked, plus ``<name>.py``
        (its PEP 723 block) and ``<name>.py.lock`` (its lock): the same spec and lock for uv."""
        nb = self.fixtures / f"{name}.ipynb"
        if nb.exists():
            return nb
        self.fixtures.mkdir(parents=True, exist_ok=True)
        tmp = self.fixtures / f".{name}.tmp.ipynb"
        tmp.unlink(missing_ok=True)
        self.run([self.tools.uvnb, "init", "-q", "--python", PYTHON_PIN, str(tmp)])
        self.run([self.tools.uvnb, "add", "-q", str(tmp), *deps])
        write_script_of(tmp, self.fixtures / f"{name}.py")
        tmp.rename(nb)
        return nb


def write_script_of(nb: Path, script: Path) -> None:
    data = json.loads(nb.read_text())
    for cell in data["cells"]:
        src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        if cell["cell_type"] == "code" and "# /// script" in src:
            script.write_text(src.rstrip("\n") + "\n")
            break
    else:
        raise SystemExit(f"{nb}: no PEP 723 cell")
    Path(f"{script}.lock").write_text(data["metadata"]["uv.lock"])


def copy_fixture(src: Path, dest_dir: Path, name: str | None = None) -> Path:
    """Copy a fixture (and its .py/.py.lock siblings when src is a script) into dest_dir."""
    dest = dest_dir / (name or src.name)
    shutil.copyfile(src, dest)
    if src.suffix == ".py":
        shutil.copyfile(f"{src}.lock", f"{dest}.lock")
    return dest


def _shebang_python(script: str) -> str:
    with open(script, encoding="utf-8", errors="replace") as fh:
        first = fh.readline()
    return first[2:].strip().split()[0] if first.startswith("#!") else sys.executable


def _find_python(version: str) -> str:
    root = Path.home() / ".pyenv" / "versions"
    for cand in sorted(root.glob(f"{version}.*"), reverse=True):
        exe = cand / "bin" / f"python{version}"
        if exe.exists():
            return str(exe)
    found = shutil.which(f"python{version}")
    if not found or ".pyenv/shims" in found:
        raise SystemExit(f"no real python{version} found")
    return found


# --------------------------------------------------------------------------- scenarios


@scenario("add")
def sc_add(ctx: Ctx) -> Scenario:
    t = ctx.tools
    nb = ctx.fixture("add_base", ADD_BASE_DEPS)
    py = ctx.fixtures / "add_base.py"
    return Scenario(
        title="add a package: `uvnb add NB six` vs `uv add --script S six` vs `juv add NB six`",
        note="Same starting spec and lock (attrs, idna, packaging), reset before every run.",
        variants=[
            Variant("uvnb", lambda r: Cmd([[t.uvnb, "add", str(copy_fixture(nb, r.dir)), "six"]])),
            Variant("uv", lambda r: Cmd([[t.uv, "add", "--script", str(copy_fixture(py, r.dir)),
                                          "six"]]), floor=True),
            Variant("juv", lambda r: Cmd([[t.juv, "add", str(copy_fixture(nb, r.dir)), "six"]])),
        ],
        targets=[Target("max_ratio", "uvnb", 1.3, "uv"), Target("min_speedup", "uvnb", 4, "juv")],
    )


@scenario("lock-check-20")
def sc_lock_check(ctx: Ctx) -> Scenario:
    t = ctx.tools
    nbs, scripts = [], []
    folder = ctx.work / "check20"
    if not folder.exists():
        tmp = ctx.work / "check20.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        bases = [ctx.fixture(f"check{i}", deps) for i, deps in enumerate(CHECK_SETS)]
        for i in range(20):
            base = bases[i % len(bases)]
            copy_fixture(base, tmp, f"nb{i:02d}.ipynb")
            copy_fixture(base.with_suffix(".py"), tmp, f"s{i:02d}.py")
        tmp.rename(folder)
    nbs = [str(folder / f"nb{i:02d}.ipynb") for i in range(20)]
    scripts = [str(folder / f"s{i:02d}.py") for i in range(20)]
    return Scenario(
        title="`uvnb lock --check` of 20 notebooks (one command) vs "
              "`uv lock --script S --check` ×20",
        note=f"20 notebooks, {len(CHECK_SETS)} distinct dependency sets; read-only.",
        variants=[
            Variant("uvnb", lambda r: Cmd([[t.uvnb, "lock", "--check", *nbs]])),
            Variant("uv ×20", lambda r: Cmd([[t.uv, "lock", "--script", s, "--check"]
                                              for s in scripts]), floor=True),
        ],
        targets=[Target("max_seconds", "uvnb", 1.0)],
    )


@scenario("tree")
def sc_tree(ctx: Ctx) -> Scenario:
    t = ctx.tools
    nb = ctx.fixture("env4", ENV_DEPS)
    py = ctx.fixtures / "env4.py"
    return Scenario(
        title="`uvnb tree NB` vs `uv tree --script S` vs `juv tree NB`",
        variants=[
            Variant("uvnb", lambda r: Cmd([[t.uvnb, "tree", str(copy_fixture(nb, r.dir))]])),
            Variant("uv", lambda r: Cmd([[t.uv, "tree", "--script", str(copy_fixture(py, r.dir))]]),
                    floor=True),
            Variant("juv", lambda r: Cmd([[t.juv, "tree", str(copy_fixture(nb, r.dir))]])),
        ],
        targets=[Target("min_speedup", "uvnb", 5, "juv")],
    )


@scenario("lock-noop")
def sc_lock(ctx: Ctx) -> Scenario:
    t = ctx.tools
    nb = ctx.fixture("env4", ENV_DEPS)
    py = ctx.fixtures / "env4.py"
    return Scenario(
        title="no-op lock: `uvnb lock NB` vs `uv lock --script S` vs `juv lock NB`",
        note="The lock is already current; no target in issue #3 (informative).",
        variants=[
            Variant("uvnb", lambda r: Cmd([[t.uvnb, "lock", str(copy_fixture(nb, r.dir))]])),
            Variant("uv", lambda r: Cmd([[t.uv, "lock", "--script", str(copy_fixture(py, r.dir))]]),
                    floor=True),
            Variant("juv", lambda r: Cmd([[t.juv, "lock", str(copy_fixture(nb, r.dir))]])),
        ],
    )


@scenario("sync-noop")
def sc_sync_noop(ctx: Ctx) -> Scenario:
    t = ctx.tools
    nb = ctx.fixture("env4", ENV_DEPS)
    ctx.run([t.uvnb, "sync", "-q", str(nb)])  # build it once; every measured sync is a no-op
    return Scenario(
        title="no-op `uvnb sync NB` vs `python -c pass` (the interpreter that runs uvnb)",
        note=f"python = `{t.python}`; the env exists and matches the lock.",
        variants=[
            Variant("uvnb", lambda r: Cmd([[t.uvnb, "sync", str(nb)]])),
            Variant("python -c pass", lambda r: Cmd([[t.python, "-c", "pass"]]), floor=True),
        ],
        targets=[Target("max_ratio", "uvnb", 1.5, "python -c pass")],
    )


@scenario("sync-new-env")
def sc_sync_new(ctx: Ctx) -> Scenario:
    t = ctx.tools
    nb = ctx.fixture("env4", ENV_DEPS)
    req = ctx.fixtures / "env4.requirements.txt"
    if not req.exists():
        out = ctx.run([t.uv, "export", "--script", str(ctx.fixtures / "env4.py"),
                       "--format", "requirements-txt", "--no-header"]).stdout
        req.write_text(out)

    def uvnb(r: Round) -> Cmd:
        copy = copy_fixture(nb, r.dir)
        return Cmd([[t.uvnb, "sync", str(copy)]],
                   env=ctx.env_with(UVNB_ENV_DIR=str(r.dir / "envs")))

    def floor(r: Round) -> Cmd:
        venv = r.dir / "venv"
        return Cmd([[t.uv, "venv", "-q", "--python", t.nb_python, str(venv)],
                    [t.uv, "pip", "sync", "-q", "--python", str(venv / "bin" / "python"),
                     str(req)]])

    return Scenario(
        title="new env from a warm cache: `uvnb sync NB` (empty env store) vs `uv venv` + "
              "`uv pip sync` of the same lock",
        note=f"Dependencies: {', '.join(ENV_DEPS)}; a fresh UVNB_ENV_DIR / venv folder every run.",
        variants=[Variant("uvnb", uvnb), Variant("uv venv + pip sync", floor, floor=True)],
        targets=[Target("max_ratio", "uvnb", 1.2, "uv venv + pip sync")],
    )


@scenario("help")
def sc_help(ctx: Ctx) -> Scenario:
    t = ctx.tools
    return Scenario(
        title="`uvnb --help` vs `python -c pass`",
        variants=[
            Variant("uvnb --help", lambda r: Cmd([[t.uvnb, "--help"]])),
            Variant("python -c pass", lambda r: Cmd([[t.python, "-c", "pass"]]), floor=True),
        ],
        targets=[Target("max_seconds", "uvnb --help", 0.150)],
    )


@scenario("store-100")
def sc_store(ctx: Ctx) -> Report:
    t = ctx.tools
    n = 100
    nb = ctx.fixture("env4", ENV_DEPS)
    folder = ctx.work / "store100"
    shutil.rmtree(folder, ignore_errors=True)
    store = folder / "envs"
    (folder / "nbs").mkdir(parents=True)
    env = ctx.env_with(UVNB_ENV_DIR=str(store))
    times = []
    for i in range(n):
        copy = copy_fixture(nb, folder / "nbs", f"nb{i:03d}.ipynb")
        t0 = time.perf_counter()
        proc = subprocess.run([t.uvnb, "sync", "-q", str(copy)], env=env, capture_output=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode:
            raise SystemExit(f"uvnb sync failed: {proc.stderr.decode()}")
    env_dirs = sorted(p.name for p in store.iterdir() if p.is_dir() and not p.name.startswith("."))
    du_store = _du_k(store)
    du_apparent = _du_k(store, "--apparent-size")
    ok = len(env_dirs) == 1
    rest = times[1:]
    body = (
        f"{n} copies of one notebook ({', '.join(ENV_DEPS)}), each synced once into an empty "
        f"store.\n\n"
        "| measure | value |\n|---|---|\n"
        f"| env dirs in the store | {len(env_dirs)} |\n"
        f"| `du -sk` store (hardlinks to uv's cache counted once, here) | {du_store} KiB |\n"
        f"| `du -sk --apparent-size` store | {du_apparent} KiB |\n"
        f"| first sync (builds the env) | {times[0] * 1000:.0f} ms |\n"
        f"| other {n - 1} syncs (env exists, new notebook): median / min / max | "
        f"{_ms(statistics.median(rest))} / {_ms(min(rest))} / {_ms(max(rest))} |\n"
        f"| all {n} syncs | {sum(times):.2f} s |\n"
    )
    return Report(f"{n} notebooks with one identical lock", body,
                  [("env dirs in the store == 1", ok, str(len(env_dirs)))])


def _load(avg: tuple[float, float, float]) -> str:
    return " / ".join(f"{x:.2f}" for x in avg)


def _du_k(path: Path, *flags: str) -> int:
    out = subprocess.run(["du", "-sk", *flags, str(path)], capture_output=True, text=True).stdout
    return int(out.split()[0])


def _ms(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 10 else f"{s:.1f} s"


# --------------------------------------------------------------------------- runner


def measure(ctx: Ctx, key: str, sc: Scenario) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {v.name: [] for v in sc.variants}
    base = ctx.work / "rounds" / key
    for idx in range(-1, ctx.rounds):  # -1: warm-up, discarded
        shutil.rmtree(base, ignore_errors=True)
        shift = (idx + 1) % len(sc.variants)
        order = sc.variants[shift:] + sc.variants[:shift]
        for var in order:
            rdir = base / var.name.replace(" ", "_").replace("/", "_")
            rdir.mkdir(parents=True)
            cmd = var.prepare(Round(idx, rdir))
            env = cmd.env or ctx.env
            t0 = time.perf_counter()
            for argv in cmd.argvs:
                proc = subprocess.run(argv, env=env, cwd=cmd.cwd or str(rdir),
                                      capture_output=True)
                if proc.returncode:
                    raise SystemExit(f"[{key}/{var.name}] failed ({proc.returncode}): {argv}\n"
                                     f"{proc.stdout.decode()}{proc.stderr.decode()}")
            elapsed = time.perf_counter() - t0
            if idx >= 0:
                times[var.name].append(elapsed)
        print(f"  {key} round {idx + 1}/{ctx.rounds}" if idx >= 0 else f"  {key} warm-up",
              file=sys.stderr, flush=True)
    shutil.rmtree(base, ignore_errors=True)
    return times


def render_scenario(key: str, sc: Scenario, times: dict[str, list[float]],
                    summary: list[tuple[str, str, bool, str]]) -> str:
    med = {k: statistics.median(v) for k, v in times.items()}
    floor = next((v.name for v in sc.variants if v.floor), None)
    per_variant: dict[str, list[str]] = {v.name: [] for v in sc.variants}
    for tgt in sc.targets:
        ok, measured = tgt.evaluate(med)
        per_variant[tgt.subject].append(f"{tgt.describe()}: **{'PASS' if ok else 'FAIL'}** "
                                        f"({measured})")
        summary.append((key, tgt.describe(), ok, measured))
    lines = [f"## {key}: {sc.title}", ""]
    if sc.note:
        lines += [sc.note, ""]
    lines += ["| command | median | min | max | × floor | target |", "|---|---|---|---|---|---|"]
    for v in sc.variants:
        ts = times[v.name]
        ratio = f"{med[v.name] / med[floor]:.2f}×" if floor else "–"
        name = f"{v.name} (floor)" if v.floor else v.name
        lines.append(f"| {name} | {_ms(med[v.name])} | {_ms(min(ts))} | {_ms(max(ts))} | "
                     f"{ratio} | {'; '.join(per_variant[v.name]) or '–'} |")
    return "\n".join(lines) + "\n"


def versions(ctx: Ctx) -> list[tuple[str, str]]:
    t = ctx.tools

    def out(argv: list[str]) -> str:
        p = subprocess.run(argv, env=ctx.env, capture_output=True, text=True)
        return (p.stdout or p.stderr).strip().splitlines()[0] if p.returncode == 0 else "?"

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return [
        ("date", datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
        ("machine", f"{platform.node()}, {platform.system()} {platform.release()}, "
                    f"{os.cpu_count()} cores (nproc {out(['nproc'])}), {cpu}"),
        ("load average (1/5/15 min) at start → end", "{} → {}"),
        ("uv", out([t.uv, "--version"])),
        ("juv", out([t.juv, "--version"])),
        ("uvnb", out([t.uvnb, "--version"])),
        ("python running uvnb", f"{out([t.python, '-VV'])} (`{t.python}`)"),
        ("notebook python", f"{out([t.nb_python, '-V'])} (`{t.nb_python}`)"),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--venv", default=str(HERE.parent / ".venv"))
    ap.add_argument("--quick", action="store_true", help="few rounds (~1 min)")
    ap.add_argument("--rounds", type=int, help="measured rounds per scenario (after a warm-up)")
    ap.add_argument("--only", help="comma-separated scenario keys")
    ap.add_argument("--list", action="store_true", help="list scenario keys and exit")
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"))
    ap.add_argument("--fresh", action="store_true", help="rebuild fixtures and uv cache")
    args = ap.parse_args(argv)
    if args.list:
        print("\n".join(k for k, _ in SCENARIOS))
        return 0
    rounds = args.rounds or (3 if args.quick else 15)
    work = HERE / ".work"
    if args.fresh:
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(exist_ok=True)
    ctx = Ctx(Path(args.venv), work, rounds, args.quick)
    only = set(args.only.split(",")) if args.only else None
    if only and (unknown := only - {k for k, _ in SCENARIOS}):
        raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}")

    started = time.perf_counter()
    load_before = os.getloadavg()
    print("fixtures + warm cache …", file=sys.stderr, flush=True)
    ctx.fixture("env4", ENV_DEPS)
    ctx.fixture("add_base", ADD_BASE_DEPS)
    ctx.run([ctx.tools.uvnb, "sync", "-q", str(ctx.fixtures / "env4.ipynb")])
    # warm uv's cache for the package that "add" adds (add/lock of a six-only notebook)
    ctx.fixture("check1", CHECK_SETS[1])

    sections, summary, raw = [], [], {}
    for key, fn in SCENARIOS:
        if only and key not in only:
            continue
        print(f"[{key}]", file=sys.stderr, flush=True)
        sc = fn(ctx)
        if isinstance(sc, Report):
            for target, ok, measured in sc.checks:
                summary.append((key, target, ok, measured))
            checks = "".join(f"| {t} | {m} | **{'PASS' if ok else 'FAIL'}** |\n"
                             for t, ok, m in sc.checks)
            sections.append(f"## {key}: {sc.title}\n\n{sc.body}\n"
                            + (f"| target | measured | result |\n|---|---|---|\n{checks}"
                               if checks else ""))
            continue
        times = measure(ctx, key, sc)
        raw[key] = times
        sections.append(render_scenario(key, sc, times, summary))
    total = time.perf_counter() - started

    head = [
        "# uvnb benchmark results",
        "",
        "Generated by `bench/run" + (" --quick" if args.quick else "") + "` "
        f"({rounds} measured rounds per scenario after one discarded warm-up; variants "
        f"alternate inside each round; warm uv cache; wall time per command with "
        f"`time.perf_counter` around `subprocess.run`). Whole run: {total:.0f} s. "
        "A load average above the core count means other work shared the machine: "
        "expect wider min–max spreads.",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {v.format(_load(load_before), _load(os.getloadavg()))} |"
          for k, v in versions(ctx)),
        "",
        "## Targets (issue #3)",
        "",
        "| scenario | target | measured | result |",
        "|---|---|---|---|",
        *(f"| {k} | {t} | {m} | **{'PASS' if ok else 'FAIL'}** |" for k, t, ok, m in summary),
        "",
        "“× floor” is the median divided by the floor's median (uv doing the same work on the "
        "same PEP 723 script + lock, or `python -c pass`).",
        "",
    ]
    Path(args.out).write_text("\n".join(head) + "\n" + "\n".join(sections))
    (work / "raw.json").write_text(json.dumps(raw, indent=1))
    print(f"wrote {args.out} in {total:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""uvnb benchmark: uvnb vs its floors (uv, plain ipykernel, %pip) vs juv (issues #3 and #4).

Run through ``bench/run`` (``--quick`` for a ~2 min smoke run). Every scenario runs its
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
4. Work that is not a command (a kernel: start it, run a cell) returns
   ``Cmd([], timed=fn)``: ``prepare`` does the untimed part (e.g. start the kernel), ``fn``
   does the timed part with its own ``time.perf_counter``, cleans up after its clock stops
   (shutdown, uninstall) and returns the seconds. The kernel-* scenarios (issue #4) work so,
   with ``bench/kernels.py`` starting kernels in this process exactly as jupyter_server does
   (``KernelManager.start_kernel(env={…, JPY_SESSION_NAME: nb}, cwd=<nb folder>)``) and
   ``kernel_setup`` building the shared fixtures once (kernelspecs, a plain venv, the layer).
   ``Scenario(rounds=N)`` caps the rounds of a slow scenario.
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
from typing import Any

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
    #: Instead of argvs: a callable that does the timed work itself (e.g. talks to a kernel
    #: started untimed in ``prepare``), cleans up after its clock stops, returns the seconds.
    timed: Callable[[], float] | None = None


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
    rounds: int | None = None  # at most this many measured rounds (slow scenarios)


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

JUV_VERSION = "0.5.0"  # the version the reference figures were measured with


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
        self.venv = venv
        self.rounds = rounds
        self.quick = quick
        bin_ = venv / "bin"
        uvnb = str(bin_ / "uvnb")
        uv = str(bin_ / "uv") if (bin_ / "uv").exists() else shutil.which("uv") or "uv"
        self.tools = Tools(
            python=_shebang_python(uvnb),
            uvnb=uvnb,
            juv=_juv_alone(uv, _shebang_python(uvnb), work),
            uv=uv,
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


def _juv_alone(uv: str, python: str, work: Path) -> str:
    """juv in a venv of its own, as `uv tool install juv` or pipx would give a user.

    Beside JupyterLab (our test extras) juv would import jsonschema's format checkers, whose
    rfc3987-syntax grammar alone takes ~1.5 s to build: that is not juv's own speed.
    """
    venv = work / "juv-venv"
    juv = venv / "bin" / "juv"
    if not juv.exists():
        env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
        subprocess.run([uv, "venv", "-q", "--python", python, str(venv)], check=True, env=env)
        subprocess.run([uv, "pip", "install", "-q", "--compile-bytecode", "--python",
                        str(venv / "bin" / "python"), f"juv=={JUV_VERSION}"], check=True,
                       env=env)
    return str(juv)


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
    beside_lab = str(ctx.venv / "bin" / "juv")
    return Scenario(
        title="add a package: `uvnb add NB six` vs `uv add --script S six` vs `juv add NB six`",
        note="Same starting spec and lock (attrs, idna, packaging), reset before every run. "
             "`juv` runs from a venv of its own (as `uv tool install juv` gives it); "
             "`juv beside JupyterLab` is the same juv in uvnb's test venv, where importing "
             "nbformat pulls in jsonschema's format checkers (~1.5 s for rfc3987-syntax). "
             "The 4× target is checked against the faster one. No tool that calls "
             "`uv add --script` can be faster than uv itself, so it is reachable only where "
             "juv takes ≥ 4× as long as uv (the issue measured 5.4×).",
        variants=[
            Variant("uvnb", lambda r: Cmd([[t.uvnb, "add", str(copy_fixture(nb, r.dir)), "six"]])),
            Variant("uv", lambda r: Cmd([[t.uv, "add", "--script", str(copy_fixture(py, r.dir)),
                                          "six"]]), floor=True),
            Variant("juv", lambda r: Cmd([[t.juv, "add", str(copy_fixture(nb, r.dir)), "six"]])),
            Variant("juv beside JupyterLab",
                    lambda r: Cmd([[beside_lab, "add", str(copy_fixture(nb, r.dir)), "six"]])),
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


# --------------------------------------------------------------------------- kernels (issue #4)
#
# Kernels are started in this process (kernels.py), the way jupyter_server starts them, and
# timed there: a variant's ``prepare`` does the untimed part and returns ``Cmd(timed=...)``.
# Kernel processes run without PYTHONDONTWRITEBYTECODE (set on the bench machine, unusual on
# a user's): every variant then writes its bytecode once, in the warm-up round, as on a
# user's machine, instead of recompiling ipykernel at every start.

KERNEL_START_ROUNDS = 12  # ~4 s a round (3 kernels): keeps the full run near 5 min
KERNEL_ADD_ROUNDS = 6  # each round starts two kernels (untimed) and runs pip: ~6 s
REPO = HERE.parent


def uv_run_kernel(uv: str) -> list[str]:
    return [uv, "run", "--no-project", "--with", "ipykernel", "python"]


@dataclass
class KernelSetup:
    env: dict[str, str]  # for kernels and the launcher
    uvnb_specs: Path  # the `uvnb kernel install --prefix` folder of kernelspecs
    specs: Path  # "plain" (venv + ipykernel) and "uv-run" (uv run --with ipykernel)
    venv_python: str  # the plain venv: pip + ipykernel (bytecode compiled, like the layer)
    warm_nb: Path  # env4's notebook; its env and the kernel layer exist
    stderr: Any  # where kernels' own output goes (bench/.work/kernels/kernels.log)

    def kernel(self, name: str, ksm: Any, nb: Path, **kw: Any) -> Any:
        from kernels import Kernel

        return Kernel(name, ksm, kw.pop("env", self.env), nb, stderr=self.stderr, **kw)


def kernel_setup(ctx: Ctx) -> KernelSetup:
    """One-time, untimed: kernelspecs, the plain venv, the kernel layer, uv run's env."""
    if getattr(ctx, "_kernels", None) is not None:
        return ctx._kernels
    from kernels import write_kernelspec

    t = ctx.tools
    k = ctx.work / "kernels"
    env = ctx.env_with(UVNB_LAYER_DIR=str(k / "layers"), PIP_CACHE_DIR=str(k / "pip-cache"),
                       PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    prefix = k / "prefix"
    uvnb_specs = prefix / "share" / "jupyter" / "kernels"
    ctx.run([t.uvnb, "kernel", "install", "-q", "--prefix", str(prefix)])
    venv = k / "venv"
    vpy = venv / "bin" / "python"
    if not (venv / ".bench-ready").exists():
        shutil.rmtree(venv, ignore_errors=True)
        ctx.run([t.nb_python, "-m", "venv", str(venv)])  # with pip, for %pip
        ctx.run([t.uv, "pip", "install", "-q", "--compile-bytecode", "--python", str(vpy),
                 "ipykernel"], env=env)
        (venv / ".bench-ready").touch()
    specs = k / "specs"
    write_kernelspec(specs, "plain", [str(vpy), "-m", "ipykernel_launcher", "-f",
                                      "{connection_file}"], "plain ipykernel (venv)")
    # --no-project: bench/.work sits inside the uvnb repo, a uv project that `uv run` would
    # otherwise sync (and recreate its .venv with the notebook's Python)
    write_kernelspec(specs, "uv-run", [*uv_run_kernel(t.uv), "-m", "ipykernel_launcher", "-f",
                                       "{connection_file}"], "uv run --with ipykernel")
    warm = k / "warm" / "warm.ipynb"
    if not warm.exists():
        warm.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ctx.fixture("env4", ENV_DEPS), warm)
    # the kernel layer (as the first kernel start builds it) and the notebook's env
    ctx.run([t.python, "-m", "uvnb.launch", "--cwd", str(warm.parent)], cwd=str(REPO),
            env={**env, "JPY_SESSION_NAME": str(warm)})
    # uv run's cached ephemeral env with ipykernel
    ctx.run([*uv_run_kernel(t.uv), "-c", "import ipykernel"], env=env, cwd=str(warm.parent))
    stderr = open(k / "kernels.log", "a")  # noqa: SIM115 (open for the whole run)
    ctx._kernels = KernelSetup(env, uvnb_specs, specs, str(vpy), warm, stderr)
    return ctx._kernels


def _clock_kernel(make, code: str, what: str, expect: str = "") -> float:
    """start → ready → ``code`` idle, timed; shutdown not timed."""
    from kernels import check

    kernel = make()
    try:
        t0 = time.perf_counter()
        kernel.start()
        result = kernel.run(code)
        elapsed = time.perf_counter() - t0
        check(result, what, expect)
    finally:
        kernel.stop()
    return elapsed


@scenario("kernel-start")
def sc_kernel_start(ctx: Ctx) -> Scenario:
    from kernels import spec_manager

    ks = kernel_setup(ctx)
    uvnb_ksm, other_ksm = spec_manager(ks.uvnb_specs), spec_manager(ks.specs)

    def variant(name: str, ksm) -> Callable[[Round], Cmd]:
        def prepare(r: Round) -> Cmd:
            make = lambda: ks.kernel(name, ksm, ks.warm_nb)  # noqa: E731
            return Cmd([], timed=lambda: _clock_kernel(make, "1+1", f"kernel-start/{name}"))
        return prepare

    return Scenario(
        title="warm kernel start to first execution: uvnb kernelspec (provisioner) vs plain "
              "ipykernel in a venv vs `uv run --with ipykernel`",
        note=("`KernelManager(kernel_name=…).start_kernel(env={…, JPY_SESSION_NAME: nb}, "
              "cwd=<nb folder>)` → `wait_for_ready` → execute `1+1` until idle, in the bench "
              "process (shutdown not timed). uvnb: the env of the notebook "
              f"({', '.join(ENV_DEPS)}) and the kernel layer exist; `uvnb` kernelspec from "
              "`uvnb kernel install --prefix`. plain: a venv with ipykernel (bytecode "
              "compiled). uv run: `uv run --no-project --with ipykernel python -m "
              "ipykernel_launcher -f {connection_file}` with a warm uv cache (`--no-project` "
              "only because bench/.work lies inside the uvnb repo, a uv project)."),
        variants=[
            Variant("uvnb", variant("uvnb", uvnb_ksm)),
            Variant("plain ipykernel", variant("plain", other_ksm), floor=True),
            Variant("uv run --with ipykernel", variant("uv-run", other_ksm)),
        ],
        targets=[Target("max_ratio", "uvnb", 1.1, "plain ipykernel")],
        rounds=KERNEL_START_ROUNDS,
    )


def _new_entries(folder: Path, before: set[str]) -> None:
    for name in set(os.listdir(folder)) - before:
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


@scenario("kernel-add")
def sc_kernel_add(ctx: Ctx) -> Scenario:
    from kernels import check, spec_manager

    t = ctx.tools
    ks = kernel_setup(ctx)
    uvnb_ksm, other_ksm = spec_manager(ks.uvnb_specs), spec_manager(ks.specs)
    base = ctx.fixture("add_base", ADD_BASE_DEPS)

    def uninstall_six() -> None:
        subprocess.run([t.uv, "pip", "uninstall", "-q", "--python", ks.venv_python, "six"],
                       env=ks.env, capture_output=True)

    def in_kernel(name: str, ksm, nb: Path, code: str, expect: str,
                  cleanup: Callable[[], None] = lambda: None) -> Cmd:
        kernel = ks.kernel(name, ksm, nb).start()
        check(kernel.run("pass"), f"kernel-add/{name} first cell")  # a used kernel

        def timed() -> float:
            try:
                t0 = time.perf_counter()
                result = kernel.run(code)
                elapsed = time.perf_counter() - t0
                check(result, f"kernel-add/{name}: {code!r}", expect)
            finally:
                kernel.stop()
                cleanup()
            return elapsed

        return Cmd([], timed=timed)

    def uvnb(r: Round) -> Cmd:
        nb = copy_fixture(base, r.dir, "add.ipynb")  # same path every round, reset
        store = Path(ks.env["UVNB_ENV_DIR"])
        store.mkdir(parents=True, exist_ok=True)
        cmd = in_kernel("uvnb", uvnb_ksm, nb, "%add six\nimport six", "+ six==",
                        lambda: _new_entries(store, before))
        before = set(os.listdir(store))  # after the start: drop only the env %add builds
        return cmd

    def pip(r: Round) -> Cmd:
        uninstall_six()
        nb = copy_fixture(base, r.dir, "pip.ipynb")
        return in_kernel("plain", other_ksm, nb, "%pip install six\nimport six",
                         "Successfully installed six")

    def uv_cli(r: Round) -> Cmd:
        uninstall_six()
        return Cmd([[t.uv, "pip", "install", "--python", ks.venv_python, "six"]], env=ks.env)

    return Scenario(
        title="`%add six` + `import six` in a running uvnb kernel vs `%pip install six` in a "
              "running plain ipykernel vs `uv pip install six` (CLI)",
        note=("six is in the uv cache (and pip's); timed from execute to idle of the one cell, "
              "in a kernel that already ran a cell. uvnb: the notebook (attrs, idna, packaging) "
              "is reset and a new kernel started each round (not timed); the env that `%add` "
              "builds is deleted after each round, so every `%add` relocks, builds the new env "
              "from uv's cache and switches `sys.path` (and, with no frontend, writes the "
              "notebook). pip: the plain venv (pip + ipykernel), six uninstalled between rounds "
              "(not timed), `PIP_DISABLE_PIP_VERSION_CHECK=1`. uv pip install: same venv, "
              "reference."),
        variants=[
            Variant("uvnb %add", uvnb),
            Variant("%pip install", pip, floor=True),
            Variant("uv pip install (CLI)", uv_cli),
        ],
        targets=[Target("max_seconds", "uvnb %add", 0.5),
                 Target("min_speedup", "uvnb %add", 2, "%pip install")],
        rounds=KERNEL_ADD_ROUNDS,
    )


@scenario("kernel-new-env")
def sc_kernel_new_env(ctx: Ctx) -> Scenario:
    t = ctx.tools
    ks = kernel_setup(ctx)
    template = ctx.work / "kernels" / "new-template.ipynb"
    if not template.exists():
        tmp = template.with_name(".new.tmp.ipynb")
        tmp.unlink(missing_ok=True)
        ctx.run([t.uvnb, "init", "-q", "--python", PYTHON_PIN, str(tmp)])
        tmp.rename(template)

    def launch(nb: Path, env_dir: Path | None) -> Callable[[], float]:
        env = {**ks.env, "JPY_SESSION_NAME": str(nb)}
        if env_dir is not None:
            env["UVNB_ENV_DIR"] = str(env_dir)

        def timed() -> float:
            argv = [t.python, "-m", "uvnb.launch", "--cwd", str(nb.parent)]
            t0 = time.perf_counter()
            proc = subprocess.run(argv, env=env, cwd=str(REPO), capture_output=True, text=True)
            elapsed = time.perf_counter() - t0
            out = json.loads(proc.stdout or "{}") if proc.returncode == 0 else {}
            if not out.get("argv") or out.get("error") or (
                    env_dir is not None and not out["argv"][0].startswith(str(env_dir))):
                raise SystemExit(f"uvnb.launch failed: {proc.stdout}{proc.stderr}")
            return elapsed

        return timed

    def new(r: Round) -> Cmd:
        return Cmd([], timed=launch(copy_fixture(template, r.dir, "new.ipynb"), r.dir / "envs"))

    return Scenario(
        title="what the provisioner does before exec of the kernel: `python -m uvnb.launch` "
              "for a brand-new spec-only notebook (empty env store) vs the same for a warm env "
              "vs `uv venv`",
        note=("New: `uvnb init --python 3.12` notebook (locked, no packages) copied to a new "
              "folder, a fresh `UVNB_ENV_DIR` each round; only the kernel layer exists "
              "(`UVNB_LAYER_DIR`). Warm: the kernel-start notebook, env built. Both run as the "
              "provisioner runs it (`JPY_SESSION_NAME`, `--cwd`, cwd = repo)."),
        variants=[
            Variant("uvnb.launch, new env", new),
            Variant("uvnb.launch, warm env", lambda r: Cmd([], timed=launch(ks.warm_nb, None))),
            Variant("uv venv", lambda r: Cmd([[t.uv, "venv", "-q", "--python", t.nb_python,
                                               str(r.dir / "venv")]], env=ks.env), floor=True),
        ],
        targets=[Target("max_seconds", "uvnb.launch, new env", 0.3)],
    )


@scenario("kernel-cold-start")
def sc_kernel_cold(ctx: Ctx) -> Report:
    import logging

    from kernels import LogCapture, spec_manager

    ks = kernel_setup(ctx)
    cold = ctx.work / "kernels" / "cold"
    shutil.rmtree(cold, ignore_errors=True)
    (cold / "nb").mkdir(parents=True)
    nb = copy_fixture(ctx.fixture("env4", ENV_DEPS), cold / "nb", "cold.ipynb")
    env = {**ks.env, "UVNB_ENV_DIR": str(cold / "envs")}
    env.pop("UVNB_LAYER_DIR")  # the layer too is built anew, under the fresh env dir
    log = logging.getLogger("bench.cold-start")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    cap = LogCapture()
    log.addHandler(cap)
    kernel = ks.kernel("uvnb", spec_manager(ks.uvnb_specs), nb, env=env, log=log)
    try:
        kernel.start()
        ready = time.perf_counter() - cap.t0
        first = kernel.run("print('first cell')")
        done = time.perf_counter() - cap.t0
    finally:
        kernel.stop()
        log.removeHandler(cap)
    uvnb_lines = [(s, m) for s, m in cap.lines if "uvnb" in m]
    text = first["stdout"]
    ready_at = next((s for s, m in uvnb_lines if " ready in " in m), ready)
    # progress: lines while the env/layer build runs, before the launch is ready
    early = [m for s, m in uvnb_lines if s < ready_at and "preparing the kernel" not in m]
    logged = bool(early)
    shown = "uvnb: built the env" in text
    rows = "".join(f"| {s:.2f} s | {m.replace('|', '/').replace(chr(10), ' ⏎ ')[:300]} |\n"
                   for s, m in uvnb_lines)
    body = (
        "One start of the uvnb kernel for a notebook (" + ", ".join(ENV_DEPS) + ") with a "
        "fresh `UVNB_ENV_DIR` (no env, no kernel layer; uv's cache warm), through the "
        "provisioner, once, not timed as a target.\n\n"
        "Server log (the KernelManager's logger), seconds since `start_kernel`:\n\n"
        "| t | message |\n|---|---|\n" + rows +
        f"\nKernel ready after {ready:.2f} s; first cell done after {done:.2f} s. "
        "Its output (UVNB_STARTUP_MESSAGE, printed by the magics before the first cell):\n\n"
        "```\n" + text.rstrip() + "\n```\n"
    )
    return Report("first kernel start with a cold env store shows progress", body, [
        ("server log shows progress before the launch is ready", logged,
         f"{len(early)} lines before {ready_at:.1f} s"),
        ("first output carries UVNB_STARTUP_MESSAGE", shown,
         "yes" if shown else repr(text[:80])),
    ])


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
    rounds = min(ctx.rounds, sc.rounds or ctx.rounds)
    for idx in range(-1, rounds):  # -1: warm-up, discarded
        shutil.rmtree(base, ignore_errors=True)
        shift = (idx + 1) % len(sc.variants)
        order = sc.variants[shift:] + sc.variants[:shift]
        for var in order:
            rdir = base / var.name.replace(" ", "_").replace("/", "_")
            rdir.mkdir(parents=True)
            cmd = var.prepare(Round(idx, rdir))
            env = cmd.env or ctx.env
            if cmd.timed is not None:
                elapsed = cmd.timed()
                if idx >= 0:
                    times[var.name].append(elapsed)
                continue
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
        print(f"  {key} round {idx + 1}/{rounds}" if idx >= 0 else f"  {key} warm-up",
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
    ap.add_argument("--quick", action="store_true", help="few rounds (~2 min)")
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
        print(f"[{key}] ({time.perf_counter() - started:.0f} s into the run)", file=sys.stderr,
              flush=True)
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
        f"`time.perf_counter` around `subprocess.run`; kernel-* scenarios: around the "
        f"jupyter_client calls, in the bench process, with at most {KERNEL_START_ROUNDS} "
        f"(kernel-start) or {KERNEL_ADD_ROUNDS} (kernel-add) rounds). "
        f"Whole run: {total:.0f} s. "
        "A load average above the core count means other work shared the machine: "
        "expect wider min–max spreads.",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {v.format(_load(load_before), _load(os.getloadavg()))} |"
          for k, v in versions(ctx)),
        "",
        "## Targets (issues #3 and #4)",
        "",
        "| scenario | target | measured | result |",
        "|---|---|---|---|",
        *(f"| {k} | {t} | {m} | **{'PASS' if ok else 'FAIL'}** |" for k, t, ok, m in summary),
        "",
        "“× floor” is the median divided by the floor's median (uv doing the same work on the "
        "same PEP 723 script + lock, or `python -c pass`; for kernels, a plain ipykernel, "
        "`%pip install` or `uv venv`).",
        "",
    ]
    Path(args.out).write_text("\n".join(head) + "\n" + "\n".join(sections))
    (work / "raw.json").write_text(json.dumps(raw, indent=1))
    print(f"wrote {args.out} in {total:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""docs/ci-gate.md's GitHub Actions workflow for a metric author, parsed and run here.

The ```yaml block is parsed and every step is classified; a step this file does not understand
fails the test, so an edit to the recipe must come with an edit here. The install steps are
checked for shape, not run (the project venv already holds torch and the project). The other
``run:`` steps are run as written, with ``bash -e`` (what Actions runs them with), in order, in
a workspace laid out as the two checkouts leave it: ``interpbench/`` a fresh clone of the
committed repository, ``my-metric/`` a plugin written by ``interpbench metrics new my-metric``.

What stands in for what the runner has:

* ``pip install ./my-metric``: a ``my_metric-0.1.dist-info`` with the entry point, on PYTHONPATH;
* ``curl`` of ``$REFERENCE_URL``: a ``curl`` on PATH that copies the published agent
  (``reference_jd``) to the ``-o`` file;
* ``interpbench``: the project venv's script. It runs the project's installed code (the
  checkout's, through the editable install), not the clone's: the clone gives the workspace its
  files (``hashFiles`` globs, ``git rev-parse``), not its code.
* ``$HOME``: a temporary folder, so ``~/.local/share/interpbench`` and ``~/.cache/interpbench``
  are the recipe's own; the cache folder is the session's quick cache (conftest ``quick_cache``),
  shared with the other tests that score the zoo on the quick frames.

The full ``check`` (512 frames) runs on ``main`` only and takes too long for the suite: it is
run where ``INTERPBENCH_CI_RECIPE_FULL=1``; otherwise its command line is parsed with the real
parser (``interpbench.cli.main.build_parser``).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from interpbench.agents.reference import FILENAME
from interpbench.cli.main import build_parser

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "ci-gate.md"
FULL_ENV = "INTERPBENCH_CI_RECIPE_FULL"
VENV_BIN = Path(sys.executable).parent
MAIN_ONLY = "github.ref == 'refs/heads/main'"
STEP_TIMEOUT_S = 900

CURL = """#!/bin/sh
# stands in for `curl -sSLo FILE URL`: copies the published agent to FILE
out=""; url=""
while [ $# -gt 0 ]; do
  case "$1" in
    -o|-*o) out="$2"; shift 2 ;;
    -*) shift ;;
    *) url="$1"; shift ;;
  esac
done
[ -n "$url" ] && [ -n "$out" ] || { echo "curl stand-in: no URL or no -o FILE" >&2; exit 2; }
echo "$url" >> "$CURL_LOG"
cp "$CI_RECIPE_REFERENCE" "$out"
"""


# -- the block and its steps ---------------------------------------------------------------------------

def workflow() -> dict:
    blocks = re.findall(r"^```yaml\n(.*?)^```", DOC.read_text(), re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1, f"{DOC.name}: expected one ```yaml block, found {len(blocks)}"
    doc = yaml.safe_load(blocks[0])
    assert isinstance(doc, dict) and isinstance(doc.get("jobs"), dict) and len(doc["jobs"]) == 1, \
        "the workflow's shape is not understood: expected a mapping with one job under `jobs`"
    (job,) = doc["jobs"].values()
    assert isinstance(job.get("steps"), list) and all(isinstance(s, dict) for s in job["steps"]), \
        "the workflow's shape is not understood: expected a list of steps"
    return doc


def steps() -> list[dict]:
    (job,) = workflow()["jobs"].values()
    return job["steps"]


def kind(step: dict) -> str:
    """What a step is; fails on a step this file does not know how to check or run."""
    if "uses" in step:
        action = step["uses"].split("@")[0]
        known = {"actions/checkout": "checkout", "actions/setup-python": "python",
                 "actions/cache/restore": "restore", "actions/cache/save": "save"}
        assert action in known, f"unknown action {step['uses']!r}: extend tests/test_ci_recipe.py"
        return known[action]
    assert isinstance(step.get("run"), str), f"a step with neither `uses` nor `run`: {step}"
    text = step["run"]
    if text.lstrip().startswith("pip install"):
        return "install"
    if "$GITHUB_OUTPUT" in text:
        return "output"
    if "interpbench fetch-reference" in text:
        return "fetch"
    if text.lstrip().startswith("interpbench check"):
        return "check"
    raise AssertionError(f"unknown run step {text!r}: extend tests/test_ci_recipe.py")


def of_kind(name: str) -> list[tuple[int, dict]]:
    return [(i, s) for i, s in enumerate(steps()) if kind(s) == name]


def cache_steps(what: str, path: str) -> list[tuple[int, dict]]:
    return [(i, s) for i, s in of_kind(what) if s["with"]["path"] == path]


def interpbench_argvs(text: str) -> list[list[str]]:
    """Every ``interpbench ...`` command in a run line (split at shell operators)."""
    commands = []
    for part in re.split(r"\|\||&&|;|\(|\)", text):
        words = shlex.split(part, comments=True)
        if words and words[0] == "interpbench":
            commands.append(words[1:])
    return commands


# -- shape -------------------------------------------------------------------------------------------

def test_every_step_is_understood():
    kinds = [kind(s) for s in steps()]
    assert kinds.count("checkout") == 2 and kinds.count("check") >= 1
    paths = [s["with"]["path"] for _, s in of_kind("checkout")]
    assert paths == ["interpbench", "my-metric"]


def test_torch_is_pinned_and_installed_before_the_project_without_extras():
    installs = [(i, shlex.split(s["run"], comments=True)) for i, s in of_kind("install")]
    torch_steps = [(i, argv) for i, argv in installs if any(a.startswith("torch") for a in argv)]
    project_steps = [(i, argv) for i, argv in installs if any(a.startswith("./interpbench") for a in argv)]
    assert len(torch_steps) == 1 and len(project_steps) == 1, installs
    (t, torch_argv), (p, project_argv) = torch_steps[0], project_steps[0]
    assert [a for a in torch_argv if a.startswith("torch")] == ["torch==2.13.0"]
    assert torch_argv[torch_argv.index("--index-url") + 1] == "https://download.pytorch.org/whl/cpu"
    assert t < p, "torch must be installed before the project (or pip pulls the CUDA build)"
    assert "./interpbench" in project_argv, "the project is installed with extras: " + " ".join(project_argv)
    assert not any("[" in a or "ray" in a for _, argv in installs for a in argv), installs
    assert "-e" not in project_argv and "--editable" not in project_argv
    import tomllib

    from packaging.requirements import Requirement

    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    torch_req = next(Requirement(d) for d in deps if Requirement(d).name == "torch")
    assert torch_req.specifier.contains("2.13.0"), f"the project's {torch_req} excludes the recipe's torch"


def test_cache_paths_are_where_the_tool_reads_and_writes(monkeypatch):
    from interpbench.agents.reference import user_data_dir
    from interpbench.infra.cache import cache_root

    monkeypatch.delenv("INTERPBENCH_CACHE", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    paths = {s["with"]["path"] for _, s in of_kind("restore") + of_kind("save")}
    assert paths == {"~/.cache/interpbench", "~/.local/share/interpbench"}
    assert Path("~/.cache/interpbench").expanduser() == cache_root()
    assert Path("~/.local/share/interpbench").expanduser() == user_data_dir()
    (fetch,) = [s["run"] for _, s in of_kind("fetch")]
    assert f"test -f ~/.local/share/interpbench/{FILENAME}" in fetch


def test_attribution_cache_key_leaves_out_the_metric_and_is_saved_always():
    ((r, restore),) = cache_steps("restore", "~/.cache/interpbench")
    ((w, save),) = cache_steps("save", "~/.cache/interpbench")
    keys = [restore["with"]["key"], restore["with"]["restore-keys"], save["with"]["key"]]
    for key in keys:
        assert "my-metric" not in key and "my_metric" not in key, key
        globs = re.findall(r"hashFiles\('([^']*)'\)", key)
        assert all(g.startswith("interpbench/") for g in globs), f"{key}: hashes files outside the harness"
    assert save.get("if") == "always()", "the cache must be saved when the gate fails too"
    assert save["with"]["key"].startswith(restore["with"]["key"])
    assert save["with"]["key"].startswith(restore["with"]["restore-keys"]), "the next run could not restore it"
    assert all(w > i for i, _ in of_kind("check")), "the cache is saved before the gate ran"
    assert all(r < i for i, _ in of_kind("check")), "the cache is restored after the gate ran"


def test_cache_key_globs_match_the_committed_checkout(recipe):
    """``hashFiles`` of a glob that matches nothing is '', silently: the zoo glob must match files."""
    ((_, restore),) = cache_steps("restore", "~/.cache/interpbench")
    globs = re.findall(r"hashFiles\('([^']*)'\)", restore["with"]["key"])
    assert globs
    for pattern in globs:
        assert sorted(recipe["workspace"].glob(pattern)), f"{pattern} matches nothing in a fresh clone"


def test_every_interpbench_command_parses():
    commands = [argv for _, s in of_kind("fetch") + of_kind("check") for argv in interpbench_argvs(s["run"])]
    assert len(commands) >= 3
    for argv in commands:
        parser, _ = build_parser(argv)
        parser.parse_args(argv)  # SystemExit (2) on an unknown flag or a missing argument


def test_full_check_runs_on_main_only_and_parses():
    checks = [s for _, s in of_kind("check")]
    quick = [s for s in checks if "--quick" in shlex.split(s["run"])]
    full = [s for s in checks if "--quick" not in shlex.split(s["run"])]
    assert len(quick) == 1 and len(full) == 1, checks
    assert "if" not in quick[0] and full[0].get("if") == MAIN_ONLY
    (argv,) = interpbench_argvs(full[0]["run"])
    parser, _ = build_parser(argv)
    args = parser.parse_args(argv)
    assert args.command == "check" and args.metric == "my-metric" and not args.quick
    assert args.frames is None and args.bootstrap == 0  # the default 512 frames, no resamples
    (quick_argv,) = interpbench_argvs(quick[0]["run"])
    quick_parser, _ = build_parser(quick_argv)
    assert quick_parser.parse_args(quick_argv).quick


# -- running it ----------------------------------------------------------------------------------------

def expand(text: str, outputs: dict[str, str]) -> str:
    """``${{ steps.ID.outputs.NAME }}`` and ``${{ vars.X }}``; any other expression fails."""
    def one(match: re.Match) -> str:
        expr = match.group(1).strip()
        if m := re.fullmatch(r"steps\.(\w+)\.outputs\.(\w+)", expr):
            return outputs[m.group(2)]
        if re.fullmatch(r"vars\.\w+", expr):
            return "https://example.invalid/coinrun.jd"
        raise AssertionError(f"expression ${{{{ {expr} }}}} is not understood: extend tests/test_ci_recipe.py")
    return re.sub(r"\$\{\{(.*?)\}\}", one, text)


def fake_install_my_metric(workspace: Path, site: Path, env: dict[str, str]) -> None:
    """``metrics new my-metric`` into the second checkout, then what ``pip install ./my-metric``
    leaves: the module and a dist-info with the entry point, on a folder put on PYTHONPATH."""
    done = subprocess.run([str(VENV_BIN / "interpbench"), "metrics", "new", "my-metric", "-o",
                           str(workspace / "my-metric")], cwd=workspace, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    modules = list((workspace / "my-metric").glob("my_metric.py"))
    assert modules, sorted((workspace / "my-metric").iterdir())
    site.mkdir()
    shutil.copy2(modules[0], site / "my_metric.py")
    info = site / "my_metric-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-metric\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[interpbench.metrics]\nmy-metric = my_metric\n")


@pytest.fixture(scope="module")
def recipe(tmp_path_factory, reference_jd, quick_cache):
    """The workflow's run steps, run in order; returns the workspace, home and each step's result."""
    root = tmp_path_factory.mktemp("ci-recipe")
    workspace, home, shims, site = root / "workspace", root / "home", root / "bin", root / "site"
    workspace.mkdir()
    done = subprocess.run(["git", "clone", "-q", str(REPO), str(workspace / "interpbench")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    shared = quick_cache
    (home / ".cache").mkdir(parents=True)
    (home / ".cache" / "interpbench").symlink_to(shared)
    shims.mkdir()
    (shims / "curl").write_text(CURL)
    (shims / "curl").chmod(0o755)
    drop = ("INTERPBENCH_CACHE", "INTERPBENCH_REFERENCE", "XDG_DATA_HOME", "XDG_CACHE_HOME", "PYTHONPATH",
            "PYTHONHOME", "VIRTUAL_ENV", "GITHUB_REF", "GITHUB_OUTPUT")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    full = os.environ.get(FULL_ENV) == "1"
    env.update(HOME=str(home), PATH=f"{shims}:{VENV_BIN}:/usr/bin:/bin", PYTHONPATH=str(site), CI="true",
               GITHUB_WORKSPACE=str(workspace), GITHUB_OUTPUT=str(root / "github_output"),
               GITHUB_REF="refs/heads/main" if full else "refs/pull/1/merge",
               CURL_LOG=str(root / "curl.log"), CI_RECIPE_REFERENCE=str(reference_jd))
    (root / "github_output").write_text("")
    fake_install_my_metric(workspace, site, env)
    results: list[dict] = []
    for index, step in enumerate(steps()):
        if kind(step) not in ("output", "fetch", "check"):
            continue
        condition = step.get("if")
        assert condition in (None, MAIN_ONLY), f"condition {condition!r} is not understood"
        if condition == MAIN_ONLY and not full:
            results.append({"index": index, "step": step, "skipped": True})
            continue
        outputs = dict(line.split("=", 1) for line in (root / "github_output").read_text().splitlines() if line)
        step_env = {**env, **{k: expand(str(v), outputs) for k, v in (step.get("env") or {}).items()}}
        started = time.monotonic()
        done = subprocess.run(["bash", "-e", "-c", expand(step["run"], outputs)], cwd=workspace, env=step_env,
                              capture_output=True, text=True, timeout=STEP_TIMEOUT_S)
        results.append({"index": index, "step": step, "skipped": False, "rc": done.returncode,
                        "stdout": done.stdout, "stderr": done.stderr, "seconds": time.monotonic() - started})
        if kind(step) != "check":  # a failed gate stops a real job too, but the later steps are checked here
            assert done.returncode == 0, f"step {index} ({step['run']!r}) failed:\n{done.stderr[-3000:]}"
    return {"root": root, "workspace": workspace, "home": home, "cache": shared, "results": results,
            "outputs": dict(line.split("=", 1) for line in (root / "github_output").read_text().splitlines() if line)}


def result_of(recipe, name: str, quick: bool | None = None) -> dict:
    found = [r for r in recipe["results"] if kind(r["step"]) == name
             and (quick is None or ("--quick" in r["step"]["run"]) == quick)]
    assert len(found) == 1, found
    return found[0]


def test_key_step_writes_the_clones_commit(recipe):
    head = subprocess.run(["git", "-C", str(recipe["workspace"] / "interpbench"), "rev-parse", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert recipe["outputs"] == {"code": head}


def test_fetch_step_installs_the_agent_where_the_cache_step_keeps_it(recipe, reference_jd):
    fetched = result_of(recipe, "fetch")
    assert fetched["rc"] == 0, fetched["stderr"]
    installed = recipe["home"] / ".local" / "share" / "interpbench" / FILENAME
    assert installed.read_bytes() == reference_jd.read_bytes()
    assert (recipe["root"] / "curl.log").read_text().split() == ["https://example.invalid/coinrun.jd"]


def test_quick_check_step_gives_a_verdict_and_fills_the_cached_folder(recipe):
    quick = result_of(recipe, "check", quick=True)
    assert quick["rc"] in (0, 1), f"exit {quick['rc']}, not a verdict:\n{quick['stderr'][-3000:]}"
    out = quick["stdout"]
    assert re.search(r"^my-metric: Spearman -?\d\.\d{3} \[.*\] with the per-level-count human fraction over \d+ checkpoints", out, re.M), out
    assert "figures differ from quick ones" in out, out
    assert ("PASS" in out) == (quick["rc"] == 0) and ("FAIL" in out) == (quick["rc"] == 1)
    cached = recipe["home"] / ".cache" / "interpbench"  # the folder the cache steps save and restore
    for what in ("frames", "attributions", "scores"):
        assert any((cached / what).rglob("*.npz")), f"nothing under ~/.cache/interpbench/{what}"
    print(f"quick check step: {quick['seconds']:.0f} s")


def test_full_check_step(recipe):
    full = result_of(recipe, "check", quick=False)
    if full["skipped"]:
        pytest.skip(f"the full check (512 frames, main only) runs where {FULL_ENV}=1; its command line is "
                    "parsed by test_full_check_runs_on_main_only_and_parses")
    assert full["rc"] in (0, 1), f"exit {full['rc']}, not a verdict:\n{full['stderr'][-3000:]}"
    assert re.search(r"^my-metric: Spearman -?\d\.\d{3} \[.*\] with the per-level-count human fraction over \d+ checkpoints", full["stdout"],
                     re.M), full["stdout"]
    assert "quick:" not in full["stdout"]

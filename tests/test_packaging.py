"""The built wheel is the one namespace ``interpbench``, carries the package data the defaults need,
and works installed into a fresh venv, from a folder that holds a user's own ``metrics.py``.

The wheel is built from a copy of the sources (the checkout gains no ``build/`` folder, whose
stale files setuptools would otherwise pack into later wheels). The fresh venv gets the wheel
alone (``--no-deps --no-index``); its dependencies come from the project's venv through a
``.pth`` line naming that venv's site-packages. A ``.pth`` line only appends a folder to
``sys.path``: the ``.pth`` files inside it, among them the project's editable-install finder, are
not run, so ``import interpbench`` can only find the installed wheel (asserted below).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PACKAGE_DIR: dict[str, str] = PYPROJECT["tool"]["setuptools"]["package-dir"]  # package -> source folder
CODE_FOLDERS = tuple(PACKAGE_DIR.values())  # benchmark, metrics, baselines, human_labels

USER_METRICS = 'raise RuntimeError("user metrics.py imported")\n'

SCORE = """
import json, sys
import numpy as np
import interpbench
import interpbench.metrics
from interpbench import get, load_plugin_file
from interpbench.metrics.base import checked_scores
from interpbench.metrics.testing import random_case
from interpbench.data.zoo import default_zoo, read_zoo
from interpbench.gate.bars import THRESHOLDS, load_config
from interpbench.validation.labels import DISTILL2020_DIR, load_aggregate

added = load_plugin_file("coin_focus.py")
attr, frames = random_case(16, 3, seed=1)
scores = checked_scores(get("coin-focus"), attr, frames)
zoo = read_zoo(default_zoo())
print(json.dumps({
    "added": added,
    "scores": [float(s) for s in scores],
    "files": {"interpbench": interpbench.__file__, "metrics": interpbench.metrics.__file__,
              "zoo": str(default_zoo()), "labels": str(DISTILL2020_DIR), "thresholds": str(THRESHOLDS)},
    "n_checkpoints": len(zoo),
    "n_judged": len(load_aggregate().by_researcher()),
    "gate_sections": sorted(load_config()),
    "bare_modules": sorted(m for m in sys.modules if m.split(".")[0] in ("metrics", "benchmark", "baselines")),
    "editable_finders": [type(f).__name__ for f in sys.meta_path if "editable" in repr(f).lower()],
}))
"""


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def mapped_name(path: Path) -> str:
    """``benchmark/x/y.py`` -> ``interpbench/x/y.py`` in the wheel (pyproject's package-dir)."""
    rel = path.relative_to(REPO)
    folder_to_package = {folder: package for package, folder in PACKAGE_DIR.items()}
    package = folder_to_package[rel.parts[0]]
    return "/".join([*package.split("."), *rel.parts[1:]])


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for folder in sorted(set(PACKAGE_DIR.values())):
        shutil.copytree(REPO / folder, src / folder, ignore=ignore)
    done = run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "-o", str(work / "dist")], src,
               {**os.environ}, timeout=300)
    assert done.returncode == 0, f"building the wheel failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    wheels = list((work / "dist").glob("interpbench-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        return z.namelist()


def test_wheel_has_one_top_level_namespace(names):
    top = {name.split("/")[0] for name in names}
    assert all(t == "interpbench" or t.startswith("interpbench-") for t in top), sorted(top)
    assert "interpbench" in top and any(t.endswith(".dist-info") for t in top)
    assert not top & {"benchmark", "metrics", "baselines", "human_labels", "tests"}


def test_wheel_carries_the_package_data_the_defaults_need(names):
    present = set(names)
    assert "interpbench/gate/gate_thresholds.toml" in present
    for folder in ("zoo", "zoo-impala", "zoo-known"):  # the leaderboard's, the IMPALA student, the known-answer zoo
        zoo = [n for n in names if n.startswith(f"interpbench/baselines/{folder}/")]
        weights = {Path(n).stem for n in zoo if n.endswith(".safetensors")}
        described = {Path(n).stem for n in zoo if n.endswith(".json")}
        shipped = {p.stem for p in (REPO / "baselines" / folder).glob("*.safetensors")}
        assert weights and weights == described == shipped, folder
    csvs = {Path(n).name for n in names if n.startswith("interpbench/human_labels/distill2020/") and n.endswith(".csv")}
    assert csvs and csvs == {p.name for p in (REPO / "human_labels" / "distill2020").glob("*.csv")}


def test_wheel_carries_every_module_under_its_mapped_name(names):
    present = set(names)
    sources = [p for folder in CODE_FOLDERS for p in sorted((REPO / folder).rglob("*.py"))
               if "__pycache__" not in p.parts]
    assert len(sources) > 50
    missing = [f"{p.relative_to(REPO)} -> {mapped_name(p)}" for p in sources if mapped_name(p) not in present]
    assert not missing, "modules missing from the wheel:\n" + "\n".join(missing)
    assert mapped_name(REPO / "metrics" / "base.py") == "interpbench/metrics/base.py"


def test_wheel_declares_the_console_script(wheel, names):
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    with zipfile.ZipFile(wheel) as z:
        text = z.read(entry_points).decode()
    assert "interpbench = interpbench.cli.main:main" in text


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory):
    """A fresh venv outside the checkout holding the wheel; returns (python, script, site, env)."""
    root = tmp_path_factory.mktemp("installed")
    venv = root / "venv"
    done = run([sys.executable, "-m", "venv", str(venv)], root, {**os.environ})
    assert done.returncode == 0, done.stderr
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}
    env.update(PYTHONNOUSERSITE="1", INTERPBENCH_CACHE=str(root / "cache"), PIP_DISABLE_PIP_VERSION_CHECK="1")
    done = run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)], root, env)
    assert done.returncode == 0, done.stderr
    site = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                    root, env).stdout.strip())
    assert site.is_dir() and venv in site.parents
    # The project venv's dependencies, appended after the venv's own site-packages.
    deps = sorted({sysconfig.get_paths()[key] for key in ("purelib", "platlib")})
    (site / "zz_interpbench_test_deps.pth").write_text("".join(f"{d}\n" for d in deps))
    return python, venv / "bin" / "interpbench", site, env


@pytest.fixture(scope="module")
def user_folder(installed, tmp_path_factory) -> Path:
    """A user's working folder outside the checkout: their own metrics.py and a new plugin."""
    python, script, _, env = installed
    folder = tmp_path_factory.mktemp("user")
    (folder / "metrics.py").write_text(USER_METRICS)
    done = run([str(script), "metrics", "new", "coin-focus", "-o", str(folder)], folder, env)
    assert done.returncode == 0, done.stderr
    assert (folder / "coin_focus.py").is_file() and (folder / "test_coin_focus.py").is_file()
    (folder / "score_plugin.py").write_text(SCORE)
    return folder


def test_installed_import_is_the_wheel(installed):
    python, _, site, env = installed
    done = run([str(python), "-c", "import interpbench, interpbench.metrics.base as b, interpbench.cli.main as m, "
                "torch; print(interpbench.__file__); print(b.__file__); print(m.__file__)"], site.parent, env)
    assert done.returncode == 0, done.stderr
    for line in done.stdout.split():
        path = Path(line).resolve()
        assert site.resolve() in path.parents, f"{line} is not the installed wheel"
        assert REPO not in path.parents


@pytest.mark.parametrize("how", ["module", "script"])
def test_metrics_list_with_a_plugin_from_the_user_folder(installed, user_folder, how):
    python, script, _, env = installed
    cmd = [str(python), "-m", "interpbench.cli.main"] if how == "module" else [str(script)]
    done = run([*cmd, "metrics", "list", "--plugin", "coin_focus.py"], user_folder, env)
    assert done.returncode == 0, done.stderr
    assert "user metrics.py imported" not in done.stderr
    rows = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    assert "coin-focus" in rows and "plugin" in rows["coin-focus"]
    assert "raw-overlap" in rows and "built-in" in rows["raw-overlap"]


def test_plugin_scores_from_the_user_folder(installed, user_folder):
    python, _, site, env = installed
    done = run([str(python), "score_plugin.py"], user_folder, env)
    assert done.returncode == 0, done.stderr
    assert "user metrics.py imported" not in done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["added"] == ["coin-focus"]
    assert len(out["scores"]) == 3 and all(0.0 <= s <= 1.0 for s in out["scores"])  # finite shares
    for what, path in out["files"].items():
        assert site.resolve() in Path(path).resolve().parents, f"{what}: {path} is not inside the installed wheel"
    assert out["n_checkpoints"] == len(list((REPO / "baselines" / "zoo").glob("*.safetensors")))
    assert out["n_judged"] > 0 and out["gate_sections"]
    assert out["bare_modules"] == [], "a bare folder name was imported (the user's metrics.py shadows it)"
    assert out["editable_finders"] == [], "the project's editable install leaked into the fresh venv"


def test_template_test_passes_against_the_wheel(installed, user_folder):
    python, _, _, env = installed
    done = run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_coin_focus.py"], user_folder, env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 passed" in done.stdout


def test_installed_metrics_list_json(installed, user_folder):
    _, script, _, env = installed
    done = run([str(script), "metrics", "list", "--json", "--plugin", "coin_focus.py"], user_folder, env)
    assert done.returncode == 0, done.stderr
    names = {m["name"]: m for m in json.loads(done.stdout)["metrics"]}  # nothing but JSON on stdout
    assert names["coin-focus"]["origin"].startswith("plugin ") and names["raw-overlap"]["origin"] == "built-in"


def test_installed_fetch_reference_and_lookup(installed, tmp_path):
    """fetch-reference refuses a file whose sha256 is not the published agent's, installs the real one
    into $XDG_DATA_HOME/interpbench/, where the installed package then finds it."""
    from interpbench.agents.reference import DEFAULT_PATH, FILENAME

    python, script, _, env = installed
    env = {**{k: v for k, v in env.items() if k != "INTERPBENCH_REFERENCE"}, "XDG_DATA_HOME": str(tmp_path / "data")}
    bad = tmp_path / "coinrun.jd"
    bad.write_bytes(b"not an agent")
    done = run([str(script), "fetch-reference", "--from", str(bad)], tmp_path, env)
    assert done.returncode == 2 and "sha256" in done.stderr and "expected" in done.stderr
    lookup = [str(python), "-c", "from interpbench.agents.reference import reference_path as r; print(r())"]
    assert run(lookup, tmp_path, env).stdout.strip() == "None"
    done = run([str(python), "-c", "from interpbench.agents.reference import require_reference_path as r; r()"],
               tmp_path, env)
    assert "fetch-reference --from" in done.stderr and str(tmp_path / "data" / "interpbench") in done.stderr
    if not DEFAULT_PATH.is_file():
        pytest.skip("the published reference agent is not here to install")
    done = run([str(script), "fetch-reference", "--from", str(DEFAULT_PATH)], tmp_path, env)
    assert done.returncode == 0, done.stderr
    target = tmp_path / "data" / "interpbench" / FILENAME
    assert target.read_bytes() == DEFAULT_PATH.read_bytes()
    assert run(lookup, tmp_path, env).stdout.strip() == str(target)


def test_installed_cache_info_and_clear(installed, tmp_path):
    _, script, _, env = installed
    cache = tmp_path / "cache"
    env = {**env, "INTERPBENCH_CACHE": str(cache)}
    (cache / "scores" / "ab").mkdir(parents=True)
    (cache / "scores" / "ab" / "x.npz").write_bytes(b"\0" * 2048)
    (cache / "mine").mkdir()
    (cache / "mine" / "keep.txt").write_text("not the cache's")
    done = run([str(script), "cache", "info"], tmp_path, env)
    assert done.returncode == 0 and "scores" in done.stdout and "2.0 KiB" in done.stdout, done.stdout
    done = run([str(script), "cache", "clear"], tmp_path, env)
    assert done.returncode == 0, done.stderr
    assert not (cache / "scores").exists() and (cache / "mine" / "keep.txt").exists()


def test_installed_quick_check_of_a_new_plugin(installed, user_folder, reference_jd, quick_cache):
    """The author loop from the wheel: `check --quick` on the plugin `metrics new` wrote, from the
    user's folder, builds the gate's frames from the published agent, attributes the zoo and gives a
    verdict (0 or 1, never 2) with the Spearman and the note that quick figures are not the leaderboard's."""
    _, script, _, env = installed
    cache = quick_cache
    env = {**env, "INTERPBENCH_REFERENCE": str(reference_jd), "INTERPBENCH_CACHE": str(cache)}
    done = run([str(script), "check", "--metric", "coin-focus", "--plugin", "coin_focus.py", "--min-spearman", "-1",
                "--quick", "--no-progress"], user_folder, env, timeout=900)
    assert done.returncode in (0, 1), f"exit {done.returncode}, not a verdict:\n{done.stderr[-3000:]}"
    assert "user metrics.py imported" not in done.stderr
    n = len(list((REPO / "baselines" / "zoo").glob("*.safetensors")))
    verdict = done.stdout.splitlines()[0]
    assert verdict.startswith("coin-focus: Spearman ") and f"over {n} checkpoints" in verdict, done.stdout
    assert "Spearman >= -1.000: PASS" in done.stdout and done.returncode == 0  # a bar of -1 always passes
    assert "quick: 64 frames" in done.stdout and "figures differ from quick ones" in done.stdout, done.stdout
    assert any((cache / "attributions").rglob("*.npz")) and any((cache / "frames").rglob("*.npz"))

"""A metric defined in a notebook cell registers, survives its cell being run again, scores a
zoo through ``interpbench.api.score``, and has a cache identity although its class has no source
file (``inspect.getsource`` fails for classes defined in a kernel's ``__main__``).

The notebook runs in a real Jupyter kernel (nbclient + ipykernel) under a kernel spec written
into a temporary ``JUPYTER_PATH``, so nothing depends on ``ipykernel install`` having been run:
the kernel is this interpreter. The zoo is the synthetic one of ``tests/synthetic_zoo.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import synthetic_zoo as sz

from interpbench.agents.models import load_checkpoint
from interpbench.data.zoo import read_zoo

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parent
NAME = "notebook-coin-share"
KERNEL = "interpbench-test-kernel"
MARK = "RESULT "

SETUP = """
import inspect, json, os, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
import numpy as np
import synthetic_zoo as sz
from interpbench.api import score
from interpbench.metrics import registry
from interpbench.scoring.identity import metric_identity, module_source
from interpbench.scoring.table import ScoringConfig
CONFIG = ScoringConfig(n_bootstrap=3, area_bins=2)
ZOO, FRAMES, CACHE = {zoo!r}, {frames!r}, {cache!r}
assert os.environ["INTERPBENCH_CACHE"] == CACHE

def cache_files():
    return sorted(str(p) for p in (Path(CACHE) / "scores").rglob("*.npz"))

def run():
    table = score([{name!r}], zoo=ZOO, frames_path=FRAMES, attribute=sz.synthetic_attribute, progress=False,
                  config=CONFIG)
    per = table.scores.get({name!r}, {{}})
    return {{"errors": table.errors,
             "trained": {{ck: s.trained.tolist() for ck, s in per.items()}},
             "shapes": {{ck: [list(s.trained.shape), list(s.boot.shape), list(s.randomized.shape),
                               list(s.shuffled.shape), list(s.area_bins.shape)] for ck, s in per.items()}},
             "model": table.per_model()[{name!r}].tolist() if {name!r} in table.scores else []}}
"""

REGISTER = """
from interpbench import register, BaseMetric

@register({name!r})
class NotebookCoinShare(BaseMetric):
    \"\"\"Share of each frame's |attribution| on the coin.\"\"\"

    def score_frames(self, attr, frames):
        mass = np.abs(attr.maps).reshape(attr.n_frames, attr.n_features, -1).astype(np.float64)
        coin = frames.object_mask(("coin",)).reshape(len(frames), 1, -1)
        return (mass * coin).sum(-1) / mass.sum(-1)
"""

IDENTITY = """
first_class = NotebookCoinShare
first_identity = metric_identity(registry.get({name!r}))
"""

CHECK_RERUN = """
try:
    inspect.getsource(NotebookCoinShare)
    getsource_failed = False
except (OSError, TypeError):
    getsource_failed = True
rerun = {{
    "replaced": registry.available()[{name!r}].factory is NotebookCoinShare and first_class is not NotebookCoinShare,
    "same_identity": metric_identity(registry.get({name!r})) == first_identity,
    "getsource_failed": getsource_failed,
    "main_has_source": module_source("__main__") is not None,
    "identity": first_identity,
}}
print({mark!r} + json.dumps({{"rerun": rerun}}))
"""

SCORE = """
before = cache_files()
first = run()
written = cache_files()
print({mark!r} + json.dumps({{"first": first, "written": len(written) - len(before)}}))
"""

SCORE_AGAIN = """
again = run()
print({mark!r} + json.dumps({{"again": again, "written_again": len(cache_files()) - len(written)}}))
"""

CHANGED = """
@register({name!r})
class NotebookCoinShare(BaseMetric):
    \"\"\"Share of each frame's |attribution| off the coin (edited).\"\"\"

    def score_frames(self, attr, frames):
        mass = np.abs(attr.maps).reshape(attr.n_frames, attr.n_features, -1).astype(np.float64)
        coin = frames.object_mask(("coin",)).reshape(len(frames), 1, -1)
        return 1.0 - (mass * coin).sum(-1) / mass.sum(-1)

changed_identity = metric_identity(registry.get({name!r}))
changed = run()
print({mark!r} + json.dumps({{"changed": changed, "changed_identity": changed_identity,
                             "written_changed": len(cache_files()) - len(written)}}))
"""


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("notebook")
    zoo = sz.make_zoo(root / "zoo")
    frames = sz.make_frames(32)
    frames.save(root / "frames.npz")
    return root, zoo, root / "frames.npz", frames


def kernel_env(root: Path, cache: Path, monkeypatch) -> None:
    """A kernel spec for this interpreter in a private JUPYTER_PATH; private runtime and IPython dirs."""
    spec = root / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "interpbench test", "language": "python",
        "env": {"INTERPBENCH_CACHE": str(cache)},
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(root / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(root / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(root / "ipython"))
    monkeypatch.delenv("PYTHONSTARTUP", raising=False)


@pytest.fixture(scope="module")
def executed(inputs):
    root, zoo, frames_path, _ = inputs
    cache = root / "cache"
    fields = {"name": NAME, "mark": MARK, "tests": str(TESTS), "zoo": str(zoo), "frames": str(frames_path),
              "cache": str(cache)}
    sources = [SETUP, REGISTER, IDENTITY, REGISTER, CHECK_RERUN, SCORE, SCORE_AGAIN, CHANGED]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s.format(**fields)) for s in sources])
    with pytest.MonkeyPatch.context() as mp:
        kernel_env(root, cache, mp)
        client = nbclient.NotebookClient(nb, kernel_name=KERNEL, timeout=300, allow_errors=False)
        try:
            client.execute()
        except nbclient.exceptions.CellExecutionError as exc:
            pytest.fail(f"the notebook failed:\n{exc}", pytrace=False)
    results: dict = {}
    for cell in nb.cells:
        for out in cell.outputs:
            if out.get("name") == "stdout":
                for line in out["text"].splitlines():
                    if line.startswith(MARK):
                        results.update(json.loads(line[len(MARK):]))
    return nb, results


def expected_share(zoo: Path, frames, off: bool = False) -> dict[str, np.ndarray]:
    """The notebook metric computed here, by hand: mean over frames of the coin share (F,)."""
    coin = frames.object_mask(("coin",))[:, None]
    out = {}
    for name, row in read_zoo(zoo).iterrows():
        attr = sz.synthetic_attribution(load_checkpoint(row["path"]), frames)
        mass = np.abs(attr.maps).astype(np.float64)
        share = (mass * coin).sum(axis=(2, 3)) / mass.sum(axis=(2, 3))
        out[name] = (1.0 - share if off else share).mean(axis=0)
    return out


def test_notebook_ran_without_error(executed):
    nb, results = executed
    errors = [o for c in nb.cells for o in c.outputs if o.get("output_type") == "error"]
    assert not errors
    assert {"rerun", "first", "again", "changed"} <= set(results)


def test_rerunning_the_registration_cell_replaces_with_a_warning(executed):
    nb, results = executed
    first_run, second_run = nb.cells[1], nb.cells[3]
    def stderr(cell) -> str:
        return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stderr")

    assert "registered again" not in stderr(first_run)
    assert f"metric {NAME!r} registered again" in stderr(second_run)
    assert "the new definition replaces the old" in stderr(second_run)
    assert results["rerun"]["replaced"]


def test_scores_are_finite_with_the_expected_shapes(executed, inputs):
    _, results = executed
    _, zoo, _, frames = inputs
    first = results["first"]
    assert first["errors"] == {}
    names = list(read_zoo(zoo).index)
    assert sorted(first["trained"]) == sorted(names)
    for shapes in first["shapes"].values():
        assert shapes == [[8], [3, 8], [5, 8], [8], [2]]  # randomized: one row per twin (5)
    trained = {ck: np.array(v) for ck, v in first["trained"].items()}
    assert all(np.isfinite(v).all() and ((v >= 0) & (v <= 1)).all() for v in trained.values())
    want = expected_share(zoo, frames)
    for ck in names:
        np.testing.assert_allclose(trained[ck], want[ck], rtol=1e-9, err_msg=ck)
    # model score = mean over features, as BaseMetric.aggregate says
    np.testing.assert_allclose(first["model"], [want[ck].mean() for ck in names], rtol=1e-9)


def test_identity_without_a_source_file(executed, inputs):
    """No source: the identity comes from the compiled code, so an identical re-run cell is a cache
    hit and an edited one is not."""
    _, results = executed
    _, zoo, _, frames = inputs
    n = len(read_zoo(zoo))
    rerun = results["rerun"]
    assert rerun["getsource_failed"], "inspect.getsource worked: this test no longer covers a source-less metric"
    assert not rerun["main_has_source"]
    assert rerun["identity"].startswith(f"{NAME}@")
    assert rerun["same_identity"], "re-running an identical cell changed the metric's cache identity"
    assert results["written"] == n  # one cache entry per checkpoint
    assert results["written_again"] == 0, "an identical metric was scored again instead of read from the cache"
    assert results["again"]["trained"] == results["first"]["trained"]
    assert results["changed_identity"] != rerun["identity"]
    assert results["written_changed"] == n, "the edited metric was served the old metric's cached scores"
    want = expected_share(zoo, frames, off=True)
    for ck, values in results["changed"]["trained"].items():
        np.testing.assert_allclose(values, want[ck], rtol=1e-9, err_msg=ck)

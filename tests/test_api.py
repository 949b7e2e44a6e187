"""The notebook API: ``interpbench.evaluate`` returns a Result (tidy scores, the leaderboard row,
``plot()``), accepts a spec, a registered name, a metric class or instance, is imported lazily
(``import interpbench`` stays numpy-only), and examples/quickstart.ipynb runs top to bottom in a
real kernel with its figures shown inline. The API tests use the synthetic zoo; the notebook
(``quick=True`` on the shipped zoo) needs the published reference agent and skips without it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import synthetic_zoo as sz
from scipy import stats

import interpbench
from interpbench.metrics.base import BaseMetric

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "examples" / "quickstart.ipynb"
KERNEL = "interpbench-quickstart-kernel"


@pytest.fixture(scope="module", autouse=True)
def _cache(tmp_path_factory):
    yield from sz.isolated_cache(tmp_path_factory)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("api")
    sz.synthetic_args(root)
    return {"zoo": root / "zoo", "frames": root / "frames.npz", "labels": root / "labels",
            "attribute": sz.synthetic_attribute, "bootstrap": 4}


class OnTheFly(BaseMetric):
    """Mean attribution on objects (registered on the fly)."""

    def score_frames(self, attr, frames):
        maps = np.abs(attr.maps).reshape(attr.n_frames, attr.n_features, -1)
        on = frames.object_mask().reshape(len(frames), 1, -1)
        return (maps * on).sum(-1) / maps.sum(-1)


def test_import_is_cheap():
    done = subprocess.run([sys.executable, "-c", "import sys, interpbench; "
                           "print(sorted(m for m in ('torch', 'pandas', 'matplotlib') if m in sys.modules))"],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("how", ["name", "spec", "class", "instance"])
def test_evaluate_accepts_names_specs_classes_instances(synthetic, how):
    sz.load_metrics()
    metric = {"name": "synthetic-overlap", "spec": "synthetic-overlap", "class": OnTheFly,
              "instance": OnTheFly()}[how]
    result = interpbench.evaluate(metric, **synthetic)
    assert isinstance(result, interpbench.Result)
    scores = result.scores
    assert list(scores.columns) == ["checkpoint", "num_levels", "run", "score", "oriented_score", "human"]
    assert len(scores) == len(sz.LEVELS) * len(sz.RUNS) and scores["score"].notna().all()
    # Both track the planted quality; against the per-level-count target (tied within a level
    # count) the planted ranking reaches scipy's Spearman of the two columns.
    best = stats.spearmanr(scores["oriented_score"], scores["human"]).statistic
    assert best > 0.95 and result.row["spearman"] == pytest.approx(best)
    fig = result.plot()
    assert fig.axes and f"rho = {best:.2f}" in fig.axes[0].get_title()
    assert f"Spearman {best:.3f}" in repr(result)


def test_notebook_runs_with_inline_figures(tmp_path, monkeypatch, reference_jd, quick_cache):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "interpbench quickstart test", "language": "python"}))
    monkeypatch.setenv("INTERPBENCH_CACHE", str(quick_cache))  # the kernel reuses the session's quick attributions
    monkeypatch.setenv("INTERPBENCH_REFERENCE", str(reference_jd))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name=KERNEL, timeout=900, allow_errors=False,
                                     resources={"metadata": {"path": str(REPO / "examples")}})
    client.execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2, "both plot() cells render a figure inline"
    text = "".join(o.get("text", "") for o in outputs)
    assert "quick figures" in text or "differ" in text

"""Registry, plugin files, error isolation in score_all, aggregation and the ``metrics`` command."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from interpbench.metrics import registry
from interpbench.metrics.base import (
    BaseMetric,
    MetricError,
    checked_scores,
    model_score,
)
from interpbench.metrics.scoring import score_all
from interpbench.metrics.testing import make_attribution, random_case

REPO = Path(__file__).resolve().parents[1]
REQUIRED = {
    "raw-overlap", "area-normalized", "receptive-field-weighted", "thresholded-saliency",
    "attribution-mass", "chance-corrected-overlap", "chance-corrected-mass", "object-consistency",
    "random-attribution", "mask-area-prior", "pointing-game", "top-k-intersection",
    "relevance-mass-accuracy", "attribution-localisation",
}  # fmt: skip


@pytest.fixture
def isolated(monkeypatch):
    """No plugin file counts as loaded yet (conftest already restores the registry after each test)."""
    monkeypatch.setattr(registry, "_plugin_files", {})


def plugin_file(tmp_path: Path, body: str, name: str = "plugin.py") -> Path:
    path = tmp_path / name
    header = "import numpy as np\nfrom interpbench.metrics.registry import register\nfrom interpbench.metrics.base import BaseMetric\n"
    path.write_text(header + textwrap.dedent(body))
    return path


def test_builtins_registered_with_descriptions() -> None:
    infos = registry.available()
    assert REQUIRED <= set(infos)
    for name in REQUIRED:
        assert infos[name].origin == "built-in"
        assert infos[name].description and infos[name].higher_is_better
        assert registry.get(name).name == name


def test_register_rejects_bad_and_duplicate_names(isolated) -> None:
    with pytest.raises(MetricError, match="kebab-case"):
        registry.register("Not_Kebab")

    class Other(BaseMetric):
        """x"""

    with pytest.raises(MetricError, match="registered twice"):
        registry.register("raw-overlap")(Other)


def test_get_unknown_lists_registered() -> None:
    with pytest.raises(MetricError, match="unknown metric 'nope'.*raw-overlap"):
        registry.get("nope")


def test_plugin_file_registers_once_with_its_origin(isolated, tmp_path: Path) -> None:
    path = plugin_file(
        tmp_path,
        """
        @register("all-ones")
        class AllOnes(BaseMetric):
            '''Scores every feature 1.'''
            higher_is_better = False
            def score(self, attr, frames):
                return np.ones(attr.n_features)
        """,
    )
    assert registry.load_plugin_file(path) == ["all-ones"]
    assert registry.load_plugin_file(path) == ["all-ones"]  # a second load is a no-op
    info = registry.available()["all-ones"]
    assert (info.origin, info.description, info.higher_is_better) == (f"plugin {path}", "Scores every feature 1.", False)


def test_plugin_file_errors_name_the_file(isolated, tmp_path: Path) -> None:
    with pytest.raises(MetricError, match="not found"):
        registry.load_plugin_file(tmp_path / "missing.py")
    broken = plugin_file(tmp_path, "raise RuntimeError('boom')\n", "broken.py")
    with pytest.raises(MetricError, match=r"broken\.py failed to import: RuntimeError: boom"):
        registry.load_plugin_file(broken)


def test_score_all_isolates_failing_metrics(isolated, tmp_path: Path) -> None:
    registry.load_plugin_file(
        plugin_file(
            tmp_path,
            """
            @register("raises")
            class Raises(BaseMetric):
                '''Always raises.'''
                def score(self, attr, frames):
                    raise ZeroDivisionError("no")

            @register("gives-nan")
            class GivesNan(BaseMetric):
                '''Returns NaN for feature 1.'''
                def score(self, attr, frames):
                    return np.array([0.0, np.nan])

            @register("wrong-shape")
            class WrongShape(BaseMetric):
                '''Returns a scalar.'''
                def score(self, attr, frames):
                    return 0.0
            """,
        )
    )
    attr, frames = random_case(4, 2)
    scores, errors = score_all(attr, frames)
    assert set(errors) == {"raises", "gives-nan", "wrong-shape"}
    assert "'raises' raised ZeroDivisionError: no" in errors["raises"]
    assert "'gives-nan' returned NaN or inf for feature(s) [1]" in errors["gives-nan"]
    assert "'wrong-shape' returned shape ()" in errors["wrong-shape"]
    assert REQUIRED <= set(scores)
    assert all(s.shape == (2,) and np.isfinite(s).all() for s in scores.values())
    with pytest.raises(MetricError, match="unknown metric"):
        score_all(attr, frames, ["raw-overlap", "nope"])


def test_scores_are_identical_for_identical_inputs() -> None:
    attr, frames = random_case(6, 3, seed=3)
    first, _ = score_all(attr, frames)
    again, _ = score_all(make_attribution(attr.maps.copy(), attr.hidden.copy()), frames.subset(slice(None)))
    assert first.keys() == again.keys()
    for name in first:
        np.testing.assert_array_equal(first[name], again[name], err_msg=name)


def test_model_score_mean_or_the_metrics_own_aggregate() -> None:
    class Median(BaseMetric):
        name = "median"

        def aggregate(self, scores: np.ndarray) -> float:
            return float(np.median(scores))

    class Bare:  # a duck-typed plugin without the hook
        name, higher_is_better = "bare", True

    scores = np.array([0.0, 0.1, 0.9])
    assert model_score(registry.get("raw-overlap"), scores) == pytest.approx(1 / 3)
    assert model_score(Median(), scores) == pytest.approx(0.1)
    assert model_score(Bare(), scores) == pytest.approx(1 / 3)


def test_checked_scores_checks_frame_counts() -> None:
    attr, frames = random_case(4, 2)
    with pytest.raises(MetricError, match="raw-overlap: FrameSet has 3 frames, AttributionSet 4"):
        checked_scores(registry.get("raw-overlap"), attr, frames.subset(slice(0, 3)))


def cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "interpbench.cli.main", *args], cwd=cwd, capture_output=True, text=True)


def test_metrics_list_is_light_and_complete(tmp_path: Path) -> None:
    probe = (
        "import sys; from interpbench.cli.main import main; code = main(['metrics', 'list']); "
        "assert 'torch' not in sys.modules, 'metrics list imported torch'; sys.exit(code)"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:3] == ["NAME", "BETTER", "ORIGIN"]
    listed = {line.split()[0]: line.split()[1:3] for line in lines[1:]}
    assert REQUIRED <= set(listed)
    assert listed["raw-overlap"] == ["higher", "built-in"]


def test_metrics_new_writes_a_template_that_passes(tmp_path: Path) -> None:
    done = cli("metrics", "new", "coin-focus", "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coin_focus.py", "test_coin_focus.py"]
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_coin_focus.py"],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert tests.returncode == 0, tests.stdout + tests.stderr
    listed = cli("metrics", "list", "--plugin", str(tmp_path / "coin_focus.py"))
    assert f"plugin {tmp_path / 'coin_focus.py'}" in listed.stdout
    again = cli("metrics", "new", "coin-focus", "-o", str(tmp_path))
    assert again.returncode == 2 and "already exist" in again.stderr
    assert cli("metrics", "new", "Bad_Name", "-o", str(tmp_path)).returncode == 2

"""A third-party network package, installed into a temporary directory, is discovered through its
``interpbench.models`` entry point, listed by ``interpbench models list`` and scored, with no change
to the repository; a broken entry point beside it is reported by name and hides nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from plugin_site import install_with_broken_neighbour

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "tests" / "data" / "example_model"

SCORE = """
import sys
sys.path.insert(0, "tests")
from pathlib import Path
from synthetic_zoo import make_frames
from interpbench.agents.architectures import get_architecture
from interpbench.agents.models import save_checkpoint
from interpbench.scoring.score import score_zoo
from interpbench.scoring.table import ScoringConfig

zoo = Path(sys.argv[1])
net = get_architecture("tiny-cnn").fresh(15, 0)
save_checkpoint(net, zoo / "tiny-L2-r1", {"method": "tiny", "num_levels": 2, "run": 1,
                                          "test_completion": {"completion_rate": 0.5}})
config = ScoringConfig(n_bootstrap=0, n_twins=1, n_refits=0, nmf_fit="scoring-frames", area_bins=2, n_features=4,
                       layer="c1", attribution="grad-x-act", cascade_depth=5)
table = score_zoo(zoo, make_frames(8), ["raw-overlap"], config=config, progress=False, n_jobs=1)
print(table.errors, table.cascade_steps, table.scores["raw-overlap"]["tiny-L2-r1"].trained.shape)
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return install_with_broken_neighbour(tmp_path_factory.mktemp("model-plugin"), EXAMPLE, "interpbench.models",
                                         "broken-model", "no_such_module:factory")


def run_with(site: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
           "INTERPBENCH_CACHE": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True)


def test_entry_point_model_is_listed(site: Path, tmp_path: Path) -> None:
    done = run_with(site, tmp_path, "-m", "interpbench.cli.main", "models", "list")
    assert done.returncode == 0, done.stderr
    assert "tiny-cnn  (entry point interpbench-example-model:interpbench_example_model:tiny_cnn; default layer c2)" \
        in done.stdout
    assert "  c1           8x32x32  receptive field 5px, stride 2" in done.stdout
    assert "impala-cnn" in done.stdout and "clear-cnn" in done.stdout
    assert "model entry point broken failed to load: ModuleNotFoundError" in done.stderr


@pytest.mark.slow
def test_entry_point_model_is_scored(site: Path, tmp_path: Path) -> None:
    done = run_with(site, tmp_path, "-c", SCORE, str(tmp_path / "zoo"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "{} ('heads', 'fc', 'c2') (4,)"


def test_model_absent_without_the_install(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "interpbench.cli.main", "models", "list"], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 0 and "tiny-cnn" not in done.stdout

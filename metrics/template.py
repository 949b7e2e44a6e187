"""``interpbench metrics new NAME``: a plugin module and its test, which pass as written.

The template is a working metric (share of positive attribution on the objects) with a
hand-computed test, so a plugin author starts from green and edits the formula and the expected
numbers together.
"""

from __future__ import annotations

from pathlib import Path
from string import Template

from interpbench.infra import atomic
from interpbench.metrics.base import MetricError
from interpbench.metrics.registry import NAME_PATTERN

MODULE = Template('''"""``$name``: an interpbench metric plugin.

Load it with ``interpbench metrics list --plugin $module.py``, or ship it in a package with an
entry point in group ``interpbench.metrics``:

    [project.entry-points."interpbench.metrics"]
    $name = "$module:$cls"

Keep module-level imports light (numpy): ``interpbench metrics list`` imports every plugin.
"""

from __future__ import annotations

import numpy as np

from interpbench import BaseMetric, register
from interpbench.metrics.maps import flat_maps, mass_on, object_mask, ratio


@register("$name")
class $cls(BaseMetric):
    """Share of the feature's positive attribution mass on objects (edit me: one line for `list`).

    score_f = sum_n sum_{p in S_n} max(a[n, f, p], 0) / sum_n sum_p max(a[n, f, p], 0)

    Written in the frame-additive form (per-frame terms, summed, then combined) so that the
    benchmark scores bootstrap resamples by reweighting frames instead of re-running it; a plain
    ``score(self, attr, frames) -> (F,)`` works too, only slower to resample.
    """

    higher_is_better = True

    def frame_terms(self, attr, frames) -> dict[str, np.ndarray]:
        values = flat_maps(attr, "positive")  # float32 (N, F, P)
        objects = object_mask(frames, self.classes)  # bool (N, P); classes=None: all but background
        return {"on": mass_on(values, objects), "total": values.sum(axis=-1, dtype=np.float64)}  # (N, F) each

    def combine(self, totals, n_frames) -> np.ndarray:
        return ratio(totals["on"], totals["total"])  # (..., F) from the frame sums
''')

TEST = Template('''"""Hand-computed cases for the ``$name`` plugin."""

from pathlib import Path

import numpy as np

from interpbench import get, load_plugin_file
from interpbench.metrics.base import checked_scores
from interpbench.metrics.testing import make_attribution, make_frames

PLUGIN = Path(__file__).with_name("$module.py")


def test_${module}_hand_computed() -> None:
    assert "$name" in load_plugin_file(PLUGIN)
    labels = np.zeros((1, 64, 64), dtype=np.int64)
    labels[0, :8, :8] = 2  # a coin in the top-left corner (class index 2 of MASK_CLASSES)
    maps = np.zeros((1, 2, 64, 64), dtype=np.float32)
    maps[0, 0, :8, :8] = 1.0  # feature 0: all mass on the coin
    maps[0, 1, :8, :8] = 1.0  # feature 1: half on the coin ...
    maps[0, 1, 32:40, 32:40] = 1.0  # ... half on background
    scores = checked_scores(get("$name"), make_attribution(maps), make_frames(labels))
    np.testing.assert_allclose(scores, [1.0, 0.5])
''')


def write_template(name: str, directory: str | Path, overwrite: bool = False) -> list[Path]:
    """Write ``<module>.py`` and ``test_<module>.py`` for metric ``name`` into ``directory``."""
    if not NAME_PATTERN.match(name):
        raise MetricError(f"metric name {name!r} is not kebab-case (e.g. 'coin-overlap')")
    module = name.replace("-", "_")
    fields = {"name": name, "module": module, "cls": "".join(part.title() for part in name.split("-"))}
    directory = Path(directory)
    files = {directory / f"{module}.py": MODULE, directory / f"test_{module}.py": TEST}
    existing = [str(path) for path in files if path.exists()]
    if existing and not overwrite:
        raise MetricError(f"{', '.join(existing)} already exist(s); pass --force to overwrite")
    directory.mkdir(parents=True, exist_ok=True)
    for path, template in files.items():
        atomic.write_text(path, template.substitute(fields))
    return list(files)

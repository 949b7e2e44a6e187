"""The import layering of the installed namespace, read from the source with ``ast`` (nothing is
imported, so this is fast and cannot be fooled by import side effects).

Harness stages are subpackages in data-flow order; a stage may use its own and earlier stages
only, the metrics package sits beside the harness (numpy-level: infra and data only), the
baselines (training code) see the stages up to ``agents``, the command line is a leaf that nothing
else imports, and the repository's folder names (``benchmark``, ``metrics``, ``baselines``) are
never import names: only ``interpbench`` is installed.

Every import counts: module level, inside functions, under ``TYPE_CHECKING``, relative ones
resolved against the importing module, and ``importlib.import_module("...")`` with a constant name.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: source folder -> installed package (pyproject.toml [tool.setuptools.package-dir])
SOURCE_DIRS = {"benchmark": "interpbench", "metrics": "interpbench.metrics", "baselines": "interpbench.baselines"}

STAGES = ("infra", "data", "game", "agents", "frames", "attribution", "interventions", "scoring", "validation", "reporting", "labelling",
          "api", "gate", "cli")
RANK = {stage: i for i, stage in enumerate(STAGES)}
BASELINES_MAY_USE = ("infra", "data", "game", "agents")
METRICS_MAY_USE = ("infra", "data")
FOLDER_NAMES = ("benchmark", "metrics", "baselines")


@dataclass(frozen=True)
class Import:
    importer: str  # module name of the importing file
    target: str  # absolute module name imported
    where: str  # file:line, for the failure message


# -- collecting imports ----------------------------------------------------------------------------


def module_name(path: Path) -> str:
    """``benchmark/x/y.py`` -> ``interpbench.x.y``; ``metrics/__init__.py`` -> ``interpbench.metrics``."""
    rel = path.relative_to(REPO)
    package = SOURCE_DIRS[rel.parts[0]]
    parts = list(rel.with_suffix("").parts[1:])
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def source_files() -> dict[str, Path]:
    files = {}
    for folder in SOURCE_DIRS:
        for path in sorted((REPO / folder).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            files[module_name(path)] = path
    return files


def _resolve_relative(importer: str, is_package: bool, level: int, module: str | None) -> str:
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    if not base:
        raise ValueError(f"relative import beyond the top level in {importer}")
    return ".".join([*base, *([module] if module else [])])


def imports_of(path: Path, importer: str, known: set[str]) -> list[Import]:
    """Every import in the file at ``path`` (module ``importer``), as absolute module names.

    ``from P import n`` counts as importing ``P.n`` when that is a module of the project,
    else ``P``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    found = []

    def add(target: str, node: ast.AST) -> None:
        found.append(Import(importer, target, f"{path.relative_to(REPO)}:{getattr(node, 'lineno', '?')}"))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node)
        elif isinstance(node, ast.ImportFrom):
            base = (_resolve_relative(importer, is_package, node.level, node.module) if node.level
                    else node.module or "")
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                add(sub if sub in known else base, node)
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in ("import_module", "__import__"):
                add(node.args[0].value, node)
    return found


def all_imports() -> list[Import]:
    files = source_files()
    known = set(files)
    return [imp for name, path in files.items() for imp in imports_of(path, name, known)]


# -- the rules -------------------------------------------------------------------------------------


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def stage_of(name: str) -> str | None:
    """The harness stage of ``interpbench.<stage>...`` (``interpbench.api`` is the api stage);
    None for the root package, metrics, baselines, human_labels and anything else."""
    parts = name.split(".")
    if parts[0] != "interpbench" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in RANK else None


def violation(imp: Import) -> str | None:
    """Why ``imp`` breaks the layering, or None when it is allowed."""
    src, dst = imp.importer, imp.target
    head = dst.split(".")[0]
    if head in FOLDER_NAMES:
        return f"imports the repository folder name {dst!r}; only 'interpbench' is installed"
    if head != "interpbench":
        return None  # third party or the standard library
    if _within(dst, "interpbench.cli") and not _within(src, "interpbench.cli"):
        return "imports the command line (interpbench.cli), which nothing outside it may"
    if src == "interpbench":
        if dst == "interpbench" or _within(dst, "interpbench.metrics") or dst == "interpbench.api":
            return None  # the metrics API eagerly; interpbench.api lazily, inside __getattr__
        return "interpbench/__init__.py may import interpbench.metrics (and, lazily, interpbench.api) only"
    if _within(src, "interpbench.metrics"):
        if _within(dst, "interpbench.metrics") or any(_within(dst, f"interpbench.{s}") for s in METRICS_MAY_USE):
            return None
        return f"a metrics module may import only interpbench.{{{', '.join(METRICS_MAY_USE)}, metrics}}"
    if _within(src, "interpbench.baselines"):
        if _within(dst, "interpbench.baselines") or any(_within(dst, f"interpbench.{s}") for s in BASELINES_MAY_USE):
            return None
        return f"a baselines module may import only interpbench.{{{', '.join(BASELINES_MAY_USE)}, baselines}}"
    src_stage = stage_of(src)
    if src_stage is None:
        return f"{src} belongs to no stage"
    if src_stage == "cli" and _within(dst, "interpbench.baselines"):
        return None  # `train` and `sweep` are the trainers' command line
    if dst == "interpbench" or _within(dst, "interpbench.metrics"):
        # the root package is the metrics API (it imports interpbench.metrics only)
        if RANK[src_stage] >= RANK["scoring"]:
            return None
        return f"stage {src_stage!r} comes before 'scoring' and may not import the metrics ({dst})"
    dst_stage = stage_of(dst)
    if dst_stage is None:
        return f"stage {src_stage!r} imports {dst}, which belongs to no earlier stage"
    if RANK[dst_stage] > RANK[src_stage]:
        return f"stage {src_stage!r} imports the later stage {dst_stage!r}"
    return None


def violations(imports: list[Import]) -> list[str]:
    out = []
    for imp in imports:
        why = violation(imp)
        if why is not None:
            out.append(f"{imp.where}: {imp.importer} -> {imp.target}: {why}")
    return out


# -- tests -----------------------------------------------------------------------------------------


def test_every_source_file_maps_to_a_module():
    files = source_files()
    assert files["interpbench"] == REPO / "benchmark" / "__init__.py"
    assert files["interpbench.api"] == REPO / "benchmark" / "api.py"
    assert files["interpbench.metrics.base"] == REPO / "metrics" / "base.py"
    assert files["interpbench.baselines.zoo"] == REPO / "baselines" / "zoo.py"
    stages = {stage_of(name) for name in files} - {None}
    assert stages == set(STAGES), f"stages without a module, or modules of an unknown stage: {stages ^ set(STAGES)}"
    unstaged = [n for n in files if stage_of(n) is None and n != "interpbench"
                and not _within(n, "interpbench.metrics") and not _within(n, "interpbench.baselines")]
    assert not unstaged, f"harness modules outside every stage: {unstaged}"


def test_imports_are_collected_everywhere():
    """Module-level, function-level and relative imports are all seen (on the real code)."""
    imports = all_imports()
    by_importer: dict[str, set[str]] = {}
    for imp in imports:
        by_importer.setdefault(imp.importer, set()).add(imp.target)
    assert "interpbench.metrics.base" in by_importer["interpbench"]
    assert "interpbench.metrics.registry" in by_importer["interpbench"]
    # scoring.score imports torch inside a function only
    assert "torch" in by_importer["interpbench.scoring.score"]
    assert len(imports) > 200


def test_relative_imports_resolve():
    assert _resolve_relative("interpbench.scoring.score", False, 1, "plan") == "interpbench.scoring.plan"
    assert _resolve_relative("interpbench.scoring", True, 1, "plan") == "interpbench.scoring.plan"
    assert _resolve_relative("interpbench.scoring.score", False, 2, "data.zoo") == "interpbench.data.zoo"
    assert _resolve_relative("interpbench.metrics.base", False, 1, None) == "interpbench.metrics"


def test_the_checker_flags_each_kind_of_violation():
    """The rules are not vacuous: each one rejects a synthetic import and allows its neighbour."""
    bad = [
        ("interpbench.data.frameset", "interpbench.scoring.plan"),  # a later stage
        ("interpbench.infra.cache", "interpbench.metrics.base"),  # metrics before scoring
        ("interpbench.frames.build", "interpbench"),  # the root is the metrics API
        ("interpbench.metrics.maps", "interpbench.game.masks"),  # metrics beyond infra/data
        ("interpbench.metrics.maps", "interpbench.scoring.plan"),
        ("interpbench.baselines.ppo", "interpbench.frames.build"),  # baselines beyond agents
        ("interpbench.baselines.ppo", "interpbench.metrics.base"),
        ("interpbench.gate.bars", "interpbench.cli.main"),  # the command line is a leaf
        ("interpbench.api", "interpbench.gate.bars"),
        ("interpbench", "interpbench.scoring.score"),  # the root imports the metrics (and lazily the api) only
        ("interpbench.scoring.score", "metrics.base"),  # folder names
        ("interpbench.metrics.base", "benchmark.infra.errors"),
        ("interpbench.baselines.zoo", "baselines.nets"),
        ("interpbench.reporting.report", "interpbench.human_labels"),  # no stage
    ]
    good = [
        ("interpbench.data.frameset", "interpbench.infra.atomic"),
        ("interpbench.data.frameset", "interpbench.data.layers"),
        ("interpbench.scoring.score", "interpbench.metrics.base"),
        ("interpbench.cli.commands.score", "interpbench.api"),
        ("interpbench.cli.main", "interpbench.cli.commands.metrics"),
        ("interpbench.metrics.base", "interpbench.data.frameset"),
        ("interpbench.metrics.base", "interpbench.infra.errors"),
        ("interpbench.baselines.ppo", "interpbench.agents.models"),
        ("interpbench", "interpbench.metrics.registry"),
        ("interpbench.gate.bars", "numpy"),
        ("interpbench.data.zoo", "benchmarks_of_someone_else"),
    ]
    flagged = violations([Import(a, b, "synthetic:1") for a, b in bad])
    assert len(flagged) == len(bad), "\n".join(flagged)
    allowed = violations([Import(a, b, "synthetic:1") for a, b in good])
    assert not allowed, "\n".join(allowed)


def test_the_checker_sees_a_violation_in_a_file(tmp_path, monkeypatch):
    """End to end on a fake tree: function-level and relative imports are caught too."""
    me = sys.modules[__name__]
    for folder in SOURCE_DIRS:
        (tmp_path / folder).mkdir()
    (tmp_path / "benchmark" / "__init__.py").write_text("")
    (tmp_path / "benchmark" / "data").mkdir()
    (tmp_path / "benchmark" / "data" / "__init__.py").write_text("")
    (tmp_path / "benchmark" / "data" / "zoo.py").write_text(
        "def f():\n    from ..scoring import plan\n    import interpbench.cli.main\n")
    (tmp_path / "benchmark" / "scoring").mkdir()
    (tmp_path / "benchmark" / "scoring" / "__init__.py").write_text("")
    (tmp_path / "benchmark" / "scoring" / "plan.py").write_text("from . import identity\nimport metrics\n")
    (tmp_path / "benchmark" / "scoring" / "identity.py").write_text("")
    monkeypatch.setattr(me, "REPO", tmp_path)
    found = violations(all_imports())
    assert len(found) == 3, found
    assert any("interpbench.data.zoo -> interpbench.scoring.plan" in v for v in found)
    assert any("interpbench.data.zoo -> interpbench.cli.main" in v for v in found)
    assert any("interpbench.scoring.plan -> metrics:" in v for v in found)


def test_layering_holds():
    found = violations(all_imports())
    if found:
        pytest.fail(f"{len(found)} import(s) break the layering:\n" + "\n".join(found), pytrace=False)

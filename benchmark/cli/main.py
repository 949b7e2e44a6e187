"""``interpbench`` command line.

Each subcommand lives in its own module under ``interpbench.cli.commands`` with two functions,
``add_arguments(parser)`` and ``run(args) -> int``, and is imported only when invoked, so that
``interpbench --help`` and ``interpbench metrics list`` start without importing torch.

Exit codes: 0 success, 1 a check failed (``check``), 2 bad input (any ``InterpbenchError``).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from interpbench.infra.errors import InterpbenchError

#: subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "frames": ("interpbench.cli.commands.frames", "build a FrameSet: frames, object masks, states"),
    "attribute": ("interpbench.cli.commands.attribute", "attribute a checkpoint on a FrameSet (cached)"),
    "gallery": ("interpbench.cli.commands.gallery", "write a feature gallery for a checkpoint"),
    "score": ("interpbench.cli.commands.score", "score every metric on every checkpoint of a zoo"),
    "validate": ("interpbench.cli.commands.validate", "rank-correlate metric scores with human judgments"),
    "report": ("interpbench.cli.commands.report", "regenerate the leaderboard (md, html, csv, figures)"),
    "check": ("interpbench.cli.commands.check", "CI gate: fail when a metric's agreement is below a bar"),
    "train": ("interpbench.cli.commands.train", "train one zoo checkpoint (ppo or distill)"),
    "sweep": ("interpbench.cli.commands.sweep", "train the zoo: level counts x runs, locally or on Ray"),
    "evaluate": ("interpbench.cli.commands.evaluate", "measure a checkpoint's train/test completion"),
    "metrics": ("interpbench.cli.commands.metrics", "list registered metrics or write a plugin template"),
    "models": ("interpbench.cli.commands.models", "list registered architectures, their layers and geometry"),
    "label": ("interpbench.cli.commands.label", "serve a blinded per-feature labelling study (2AFC, rating)"),
    "agreement": ("interpbench.cli.commands.agreement", "inter-rater agreement of a labelling study"),
    "fetch-reference": ("interpbench.cli.commands.fetch_reference", "install a downloaded reference agent (sha256 checked)"),
    "cache": ("interpbench.cli.commands.cache", "cache info | clear: sizes per kind, or remove them"),
    "intervene": ("interpbench.cli.commands.intervene", "measured per-feature ground truth: hide objects, ablate features"),
}


def build_parser(argv: list[str]) -> tuple[argparse.ArgumentParser, object]:
    parser = argparse.ArgumentParser(prog="interpbench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = argv[0] if argv and argv[0] in COMMANDS else None
    module = None
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            module = importlib.import_module(module_name)
            module.add_arguments(p)
    return parser, module


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser, module = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return int(module.run(args) or 0)  # type: ignore[attr-defined]
    except InterpbenchError as exc:
        print(f"interpbench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interpbench {args.command}: interrupted; finished outputs are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

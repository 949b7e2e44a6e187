"""``interpbench fetch-reference --from PATH``: install a downloaded copy of the published reference agent.

Nothing is downloaded here (the agent is not ours to redistribute): download
``checkpoints/coinrun.jd`` from github.com/langosco/understanding-rl-vision, then this command
checks its sha256 against the published file's and copies it into the user data folder
(``$XDG_DATA_HOME/interpbench/``, default ``~/.local/share/interpbench/``), where every command
finds it.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="source", type=Path, required=True, metavar="PATH",
                        help="the downloaded coinrun.jd")


def run(args: argparse.Namespace) -> int:
    from interpbench.agents.reference import REFERENCE_SHA256, install_reference

    target = install_reference(args.source)
    print(f"sha256 {REFERENCE_SHA256} matches the published agent; installed {target}")
    return 0

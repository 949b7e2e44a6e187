"""``interpbench metrics list | new``: what metrics are registered, and a template for a new one.

Imports only the registry (numpy-level code), so listing is fast and never loads torch.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="name, description, direction and origin of every metric")
    listing.add_argument(
        "--plugin", action="append", default=[], metavar="PATH", help="also load metrics from this .py file"
    )
    listing.add_argument("--json", action="store_true",
                         help="print one JSON document on stdout (schema: schemas/metrics-list.schema.json)")
    new = actions.add_parser("new", help="write a plugin template (module + test) that passes as written")
    new.add_argument("name", help="kebab-case metric name, e.g. coin-overlap")
    new.add_argument("-o", "--output", default=".", help="directory to write into (default: current)")
    new.add_argument("--force", action="store_true", help="overwrite existing files")


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        return _list(args.plugin, args.json)
    return _new(args.name, args.output, args.force)


def _list(plugins: list[str], as_json: bool = False) -> int:
    from interpbench.metrics.registry import available, load_failures, load_plugin_file

    for path in plugins:
        load_plugin_file(path)
    if as_json:
        import json

        metrics = [{"name": i.name, "description": i.description, "higher_is_better": i.higher_is_better,
                    "origin": i.origin, "params": {k: list(v) if isinstance(v, tuple) else v for k, v in i.params.items()}}
                   for i in available().values()]
        print(json.dumps({"metrics": metrics, "warnings": load_failures()}, indent=1, default=str))
        for failure in load_failures():
            print(f"warning: {failure}", file=sys.stderr)
        return 0
    rows = [
        (info.name, "higher" if info.higher_is_better else "lower", info.origin, info.description)
        for info in available().values()
    ]
    header = ("NAME", "BETTER", "ORIGIN", "DESCRIPTION")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3])
    for failure in load_failures():
        print(f"warning: {failure}", file=sys.stderr)
    return 0


def _new(name: str, output: str, force: bool) -> int:
    from interpbench.metrics.template import write_template

    for path in write_template(name, output, overwrite=force):
        print(f"wrote {path}")
    print(f"try it: interpbench metrics list --plugin {output}/{name.replace('-', '_')}.py")
    return 0

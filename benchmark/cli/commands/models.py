"""``interpbench models list``: the registered architectures, their analysable layers and geometry.

Built-ins and ``interpbench.models`` entry points are listed; ``--model module:factory`` adds one
for this call. A broken entry point is reported by name on stderr and hides no other
(``agents.architectures``; docs/models.md).
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="list architectures and their layers")
    listing.add_argument("--model", action="append", default=[], metavar="MODULE:FACTORY",
                         help="also register an architecture from a factory (repeatable)")


def run(args: argparse.Namespace) -> int:
    from interpbench.agents.architectures import available, load_failures, load_model_spec
    from interpbench.attribution.methods import METHODS

    for spec in args.model:
        load_model_spec(spec)
    for message in load_failures():
        print(f"warning: {message}", file=sys.stderr)
    for name, arch in sorted(available().items()):
        print(f"{name}  ({arch.source}; default layer {arch.default_layer}){': ' + arch.description if arch.description else ''}")
        for layer in arch.layers.values():
            g = layer.geometry
            refused = [m.name for m in METHODS.values() if m.needs_spatial and not layer.spatial]
            note = f"; not for {', '.join(refused)} (no spatial extent)" if refused else ""
            print(f"  {layer.name:<12} {layer.channels}x{layer.height}x{layer.width}  receptive field {g.size}px, "
                  f"stride {g.stride}, offset {g.offset}{note}")
    print("attribution methods: " + ", ".join(f"{m.name}" for m in METHODS.values()) + " (--attribution; ig = integrated-gradients)")
    return 0

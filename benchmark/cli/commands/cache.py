"""``interpbench cache info | clear``: what the cache holds, and removing it.

``info`` lists each kind the project writes under the cache root (``$INTERPBENCH_CACHE``, default
``~/.cache/interpbench``) with its file count and size. ``clear`` asks nothing and removes only
those known subfolders (all, or the kinds named), never anything else under the root.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("info", help="sizes per kind under the cache root")
    clear = actions.add_parser("clear", help="remove the cache's known subfolders (no prompt)")
    clear.add_argument("kinds", nargs="*", help="only these kinds (default: all)")


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def run(args: argparse.Namespace) -> int:
    from interpbench.infra.cache import cache_info, cache_root, clear_cache

    if args.action == "info":
        info = cache_info()
        print(f"cache root: {info['root']}")
        for kind, entry in info["kinds"].items():
            print(f"  {kind:<14} {entry['files']:>6} files  {_human(entry['bytes']):>10}  {entry['holds']}")
        print(f"  {'total':<14} {'':>6}        {_human(info['bytes']):>10}")
        return 0
    freed = clear_cache(args.kinds or None)
    for kind, size in freed.items():
        print(f"removed {cache_root() / kind} ({_human(size)})")
    if not freed:
        print(f"nothing to remove under {cache_root()}")
    return 0

"""``make bench``: run every ``bench/bench_*.py`` and write its table to ``bench/results/``.

Each benchmark module has ``run(*, quick: bool) -> str`` that returns a Markdown table (with the
ratio to the peer) and may print progress. ``python -m bench NAME ...`` runs only those;
``--quick`` runs small sizes (a smoke test of the benchmark itself, not a measurement).
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).parent
RESULTS = HERE / "results"


def machine() -> str:
    import os

    python = f"{platform.python_implementation()} {platform.python_version()}"
    return f"{python}, {os.cpu_count()} cores, {platform.machine()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, to check the benchmarks run"
    )
    args = parser.parse_args(argv)
    available = sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    names = args.names or available
    unknown = sorted(set(names) - set(available))
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}",
            file=sys.stderr,
        )
        return 2
    RESULTS.mkdir(exist_ok=True)
    failed = []
    for name in names:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        module = importlib.import_module(f"bench.bench_{name}")
        try:
            table = module.run(quick=args.quick)
        except Exception as exc:
            print(f"   {name} failed: {exc!r}", file=sys.stderr)
            failed.append(name)
            continue
        took = time.perf_counter() - started
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        mode = "quick" if args.quick else "full"
        header = f"# {name}\n\n{stamp}; {machine()}; {mode} run, {took:.0f} s in all\n\n"
        out = RESULTS / (f"{name}.quick.md" if args.quick else f"{name}.md")
        out.write_text(header + table.rstrip() + "\n")
        print(table)
        print(f"   written to {out.relative_to(HERE.parent)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Run every benchmark in turn (`make bench`); each prints its own ratios.

Each benchmark measures its bound in the same run (DuckDB's own read_json, a
hand-written SQL script, dlt on the same API), so the ratios hold on any machine.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
BENCHMARKS = [
    "demo_api_bench.py",
    "extract_bench.py",
    "transform_bench.py",
    "celery_budget_bench.py",
    "drops_bench.py",
]


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        print(f"\n=== {name} ===", flush=True)
        if subprocess.run([sys.executable, str(HERE / name)], check=False).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

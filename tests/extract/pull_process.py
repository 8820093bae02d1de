"""One pull in its own process: `python -m tests.extract.pull_process SOURCE STREAM START END RUN`.

Prints `ready` once imported, waits for a line on stdin so several processes
start pulling together (as Airflow's parallel tasks do), then prints the
LandedSlice as JSON.
"""

from __future__ import annotations

import json
import sys

from extract import pull_slice
from segmart.core.settings import Settings
from segmart.core.times import parse_utc


def main() -> None:
    source, stream, start, end, run_id = sys.argv[1:6]
    settings = Settings.from_env()
    print("ready", flush=True)
    sys.stdin.readline()
    landed = pull_slice(settings, source, stream, parse_utc(start), parse_utc(end), run_id)
    print(json.dumps(landed.to_dict()), flush=True)


if __name__ == "__main__":
    main()

"""`segmart demo-api` as a process: ready line, clean SIGTERM, clear errors."""

from __future__ import annotations

import subprocess
import sys

from segmart.local_api import READY_MARKER
from tests.support import start_demo_api


def test_prints_one_ready_line_and_exits_cleanly_on_sigterm():
    api = start_demo_api("--customers", "50")
    assert sum(READY_MARKER in line for line in api.output) == 1
    assert api.base_url.startswith("http://127.0.0.1:")
    api.stop()
    assert api.process.returncode == 0


def _run(*flags: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "segmart", "demo-api", "--port", "0", *flags]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_bad_rate_limit_names_the_flag():
    result = _run("--rate-limit", "shop=fast")
    assert result.returncode == 2
    assert "--rate-limit" in result.stderr and "shop=fast" in result.stderr


def test_bad_fault_rate_is_refused():
    result = _run("--fault-rate", "1.5")
    assert result.returncode == 2 and "--fault-rate" in result.stderr


def test_busy_port_is_reported():
    with start_demo_api("--customers", "50") as api:
        port = api.base_url.rsplit(":", 1)[1]
        result = _run("--port", port)
    # `--port 0` is given first; the later `--port` wins, as argparse does.
    assert result.returncode == 2 and "cannot bind" in result.stderr


def test_bad_now_and_scale_name_the_flag():
    result = _run("--now", "tomorrow")
    assert result.returncode == 2 and "--now" in result.stderr
    result = _run("--customers", "0")
    assert result.returncode == 2 and "--customers" in result.stderr

"""A short, bounded load run through the BFF: no errors, and the services still agree.

Runs `agentshop load` as people do (its own embedded PostgreSQL and broker, services in
one process, Locust in another) with declined payments and out-of-stock items in the
mix, so compensation runs under load. It checks outcomes, never timings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_a_short_checkout_run_has_no_errors_and_no_invariant_violations(tmp_path: Path) -> None:
    offset = int(os.environ.get("AGENTSHOP_PORT_OFFSET", "20000")) + 700
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "AGENTSHOP_DATA_DIR")
    }
    result = subprocess.run(
        [
            sys.executable, "-m", "agentshop.cli", "load", "checkout", "--users", "4",
            "--run-time", "20", "--rate", "3", "--decline-share", "0.25",
            "--out-of-stock-share", "0.15", "--port-offset", str(offset), "--out", str(tmp_path),
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=280,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["errors"] == 0 and report["checkouts"]["errors"] == 0, report["endpoints"]
    assert report["invariants"]["ok"], report["invariants"]["violations"]
    outcomes = report["checkouts"]["outcomes"]
    assert outcomes.get("completed", 0) > 0, outcomes
    # compensation ran: declined payments released their stock, missing stock charged nothing
    assert outcomes.get("failed payment_declined", 0) > 0, outcomes
    assert outcomes.get("failed out_of_stock", 0) > 0, outcomes
    assert report["invariants"]["checked_sagas"] >= report["checkouts"]["count"]
    assert (tmp_path / "chart.png").stat().st_size > 0
    assert report["floor"]["kafka_round_trip_ms_p50"] > 0
    assert report["settings"]["rate"] == 3

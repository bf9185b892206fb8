"""`agentshop eval` end to end on the offline backend: reports written, regressions found."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agentshop.cli import app

runner = CliRunner()


def test_eval_writes_reports_and_compare_finds_a_regression(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["eval", "--split", "test", "--out", str(tmp_path), "--repeat", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "offline on v1/test" in result.output
    assert "checkouts without approval" in result.output
    document = json.loads((tmp_path / "eval-v1-test.json").read_text())
    backend = document["backends"][0]
    assert backend["name"] == "offline"
    assert len(backend["cases"]) == 2 * backend["summary"]["overall"]["cases"]
    # the offline backend is deterministic: every case passes both trials or neither
    assert set(backend["summary"]["pass_hat_k"]) == {"1", "2"}
    assert backend["summary"]["pass_hat_k"]["1"] == backend["summary"]["pass_hat_k"]["2"]
    report = (tmp_path / "eval-v1-test.md").read_text()
    assert "| **overall** |" in report and "## offline" in report
    assert (tmp_path / "eval-v1-test.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    same = runner.invoke(
        app,
        [
            "eval",
            "--compare",
            str(tmp_path / "eval-v1-test.json"),
            str(tmp_path / "eval-v1-test.json"),
        ],
    )
    assert same.exit_code == 2  # --compare is given twice, not as two values
    unchanged = runner.invoke(
        app,
        [
            "eval",
            "--compare",
            str(tmp_path / "eval-v1-test.json"),
            "--compare",
            str(tmp_path / "eval-v1-test.json"),
        ],
    )
    assert unchanged.exit_code == 0, unchanged.output
    assert "0 regressions" in unchanged.output

    passing = next(c for c in backend["cases"] if c["passed"])
    for case in backend["cases"]:
        if case["id"] == passing["id"]:
            case["passed"] = False
    worse = tmp_path / "worse.json"
    worse.write_text(json.dumps(document))
    compared = runner.invoke(
        app, ["eval", "--compare", str(tmp_path / "eval-v1-test.json"), "--compare", str(worse)]
    )
    assert compared.exit_code == 1
    assert f"regressed {passing['id']}" in compared.output


def test_bad_arguments_are_clear_errors(tmp_path: Path) -> None:
    unknown = runner.invoke(app, ["eval", "--backend", "nonsense", "--out", str(tmp_path)])
    assert unknown.exit_code == 2 and "unknown backend" in unknown.output
    split = runner.invoke(app, ["eval", "--split", "train", "--out", str(tmp_path)])
    assert split.exit_code == 2 and "unknown split" in split.output
    missing = runner.invoke(app, ["eval", "--compare", "nope.json", "--compare", "nope2.json"])
    assert missing.exit_code == 2

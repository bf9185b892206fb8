"""The load report reads the request log and judges the targets from it (no I/O but a file)."""

from __future__ import annotations

from pathlib import Path

from loadtests.report import Phase, analyse, markdown, percentile, read_log


def _log(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "requests.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([], 99) == 0


def test_report_counts_errors_checkouts_and_judges_targets(tmp_path: Path) -> None:
    lines = [f"{1000 + i * 0.1:.4f},GET,GET /v1/products,{10 + i % 5},1," for i in range(100)]
    lines += [
        "1001.0,POST,POST /v1/checkouts,40,1,",
        "1002.0,POST,POST /v1/cart/lines,400,0,LocustBadStatusCode 422 cart_empty",
        "1003.0,CHECKOUT,completed,200,1,",
        "1003.5,SAGA,completed,150,1,",
        "1004.0,CHECKOUT,failed payment_declined,120,1,payment_declined",
        "1005.0,CHECKOUT,failed out_of_stock,90,0,",  # not asked for: an error
        "1005.5,POST,POST /v1/cart",  # a line cut short when the process was killed
    ]
    report = analyse(
        read_log(_log(tmp_path, lines)),
        scenario="checkout",
        settings={},
        floor={"saga_floor_ms": 20.0, "kafka_round_trip_ms_p50": 1.0, "commit_ms_p50": 1.0,
               "hops": 7, "commits": 8},
        invariants={"violations": [], "summary": "ok"},
    )  # fmt: skip
    assert report.requests == 102 and report.errors == 1
    assert report.checkouts["errors"] == 1
    assert report.checkouts["outcomes"] == {
        "completed": 1,
        "failed out_of_stock (unexpected)": 1,
        "failed payment_declined": 1,
    }
    assert report.endpoints["GET /v1/products"]["p99"] == 14
    met = {v["target"].split(" p")[0]: v["met"] for v in report.verdict}
    assert met["GET /v1/products"] is True
    assert met["POST /v1/checkouts"] is True
    assert met["POST /v1/cart/lines"] is False
    assert met["saga"] is False  # 150 ms is more than 3 x 20 ms
    assert next(v for v in report.verdict if v["target"] == "zero errors")["met"] is False
    assert "the rate was not reached" in markdown(report)
    assert report.endpoints["POST /v1/cart/lines"]["failures"] == {
        "LocustBadStatusCode 422 cart_empty": 1
    }
    assert "LocustBadStatusCode 422 cart_empty" in markdown(report)


def test_surge_phases_split_the_run(tmp_path: Path) -> None:
    lines = [f"{t:.1f},GET,GET /v1/cart,{5 if t < 10 or t >= 20 else 50},1," for t in range(30)]
    report = analyse(
        read_log(_log(tmp_path, lines)),
        scenario="surge",
        settings={},
        floor=None,
        invariants=None,
        phases=[Phase("before", 0, 10), Phase("during", 10, 20), Phase("after", 20, 30)],
    )
    assert report.phases["before"]["latency_ms"]["p99"] == 5
    assert report.phases["during"]["latency_ms"]["p99"] == 50
    assert report.phases["after"]["requests"] == 10

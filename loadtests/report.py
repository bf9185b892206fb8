"""Turn a run's request log into figures, the SLO verdict, a chart, and report files.

The log has one CSV line per request or checkout outcome (see `loadtests.shop`):
`start,kind,name,ms,ok,detail`. `kind` is the HTTP method for requests, or
CHECKOUT (initiate request sent -> outcome recorded by the orchestrator), SAGA
(202 received -> outcome recorded) and OBSERVED (initiate sent -> the client saw the
outcome by polling) for checkouts.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopapi.client import LONG_POLL_NAME

HTTP_KINDS = {"GET", "POST", "PUT", "DELETE"}
READ_SLO_MS = 150.0
WRITE_SLO_MS = 300.0
CATALOG_P99_MS = 25.0
CART_CHECKOUT_WRITE_P99_MS = 50.0
CHECKOUT_E2E_P99_MS = 250.0
CHECKOUT_E2E_AT_RATE = 100.0
SAGA_FLOOR_MULTIPLE = 3.0


@dataclass(frozen=True)
class Entry:
    start: float
    kind: str
    name: str
    ms: float
    ok: bool
    detail: str


def read_log(path: Path) -> list[Entry]:
    entries = []
    with path.open(newline="") as f:
        for row in csv.reader(f):
            if len(row) < 5:
                continue  # a line cut by a killed process
            entries.append(
                Entry(
                    float(row[0]), row[1], row[2], float(row[3]), row[4] == "1", ",".join(row[5:])
                )
            )
    entries.sort(key=lambda e: e.start)
    return entries


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))]


def latency(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 50), 2),
        "p95": round(percentile(values, 95), 2),
        "p99": round(percentile(values, 99), 2),
        "max": round(max(values), 2) if values else 0.0,
    }


@dataclass
class Phase:
    name: str
    start: float  # seconds from the run's start
    end: float


@dataclass
class LoadReport:
    scenario: str
    settings: dict[str, Any]
    duration_s: float
    requests: int
    errors: int
    requests_per_s: float
    endpoints: dict[str, dict[str, Any]]
    reads: dict[str, float]
    writes: dict[str, float]
    checkouts: dict[str, Any]
    phases: dict[str, dict[str, Any]]
    floor: dict[str, Any] | None
    invariants: dict[str, Any] | None
    verdict: list[dict[str, Any]] = field(default_factory=list)
    series: dict[str, list[float]] = field(default_factory=dict)

    @property
    def error_rate(self) -> float:
        total = self.requests + int(self.checkouts.get("count", 0))
        return (self.errors + int(self.checkouts.get("errors", 0))) / total if total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario, "settings": self.settings, "duration_s": self.duration_s,
            "requests": self.requests, "errors": self.errors, "error_rate": round(self.error_rate, 5),
            "requests_per_s": self.requests_per_s, "endpoints": self.endpoints, "reads": self.reads,
            "writes": self.writes, "checkouts": self.checkouts, "phases": self.phases,
            "floor": self.floor, "invariants": self.invariants, "verdict": self.verdict,
            "series": self.series,
        }  # fmt: skip


def _block(entries: list[Entry], duration: float) -> dict[str, Any]:
    http = [e for e in entries if e.kind in HTTP_KINDS]
    return {
        "requests": len(http),
        "errors": sum(not e.ok for e in http),
        "requests_per_s": round(len(http) / duration, 1) if duration else 0.0,
        "latency_ms": latency([e.ms for e in http]),
        "completed_checkouts_per_s": round(
            sum(e.kind == "CHECKOUT" and e.name == "completed" for e in entries) / duration, 2
        )
        if duration
        else 0.0,
        "checkout_e2e_ms": latency([e.ms for e in entries if e.kind == "CHECKOUT" and e.ok]),
    }


def analyse(
    entries: list[Entry],
    *,
    scenario: str,
    settings: dict[str, Any],
    floor: dict[str, Any] | None,
    invariants: dict[str, Any] | None,
    phases: list[Phase] | None = None,
) -> LoadReport:
    if not entries:
        raise ValueError("the run logged no requests; see the Locust output above")
    t0 = entries[0].start
    duration = max(entries[-1].start - t0, 1e-3)
    http = [e for e in entries if e.kind in HTTP_KINDS]
    by_endpoint: dict[str, list[Entry]] = defaultdict(list)
    for e in http:
        by_endpoint[e.name].append(e)
    endpoints = {
        name: {
            "count": len(group),
            "errors": sum(not e.ok for e in group),
            "per_s": round(len(group) / duration, 1),
            **latency([e.ms for e in group]),
            "failures": dict(Counter(e.detail for e in group if not e.ok)),
        }
        for name, group in sorted(by_endpoint.items(), key=lambda kv: -len(kv[1]))
    }
    outcomes = [e for e in entries if e.kind == "CHECKOUT"]
    completed = [e for e in outcomes if e.name == "completed" and e.ok]
    sagas = [e.ms for e in entries if e.kind == "SAGA" and e.name == "completed" and e.ok]
    observed = [e.ms for e in entries if e.kind == "OBSERVED" and e.name == "completed"]
    by_outcome: dict[str, int] = defaultdict(int)
    for e in outcomes:
        by_outcome[e.name if e.ok else f"{e.name} (unexpected)"] += 1
    checkouts = {
        "count": len(outcomes),
        "errors": sum(not e.ok for e in outcomes),
        "outcomes": dict(sorted(by_outcome.items())),
        "completed_per_s": round(len(completed) / duration, 2),
        "e2e_completed_ms": latency([e.ms for e in completed]),
        "e2e_failed_ms": latency([e.ms for e in outcomes if e.ok and e.name != "completed"]),
        "saga_completed_ms": latency(sagas),
        "observed_completed_ms": latency(observed),
    }
    report = LoadReport(
        scenario=scenario,
        settings=settings,
        duration_s=round(duration, 1),
        requests=len(http),
        errors=sum(not e.ok for e in http),
        requests_per_s=round(len(http) / duration, 1),
        endpoints=endpoints,
        # a long poll lasts as long as the saga it waits for: its own row, not a read
        reads=latency([e.ms for e in http if e.kind == "GET" and e.name != LONG_POLL_NAME]),
        writes=latency([e.ms for e in http if e.kind != "GET"]),
        checkouts=checkouts,
        phases={
            p.name: _block(
                [e for e in entries if p.start <= e.start - t0 < p.end], max(p.end - p.start, 1e-3)
            )
            for p in phases or []
        },
        floor=floor,
        invariants=invariants,
    )
    report.verdict = verdict(report)
    report.series = series(entries, t0)
    return report


def _check(target: str, measured: str, met: bool | None, note: str = "") -> dict[str, Any]:
    return {"target": target, "measured": measured, "met": met, "note": note}


def verdict(r: LoadReport) -> list[dict[str, Any]]:
    """Each SLO and target with the figure measured and whether it is met (None: not measured)."""
    out = [
        _check(f"reads p99 < {READ_SLO_MS:.0f} ms", f"{r.reads['p99']} ms", r.reads["p99"] < READ_SLO_MS),
        _check(f"writes p99 < {WRITE_SLO_MS:.0f} ms", f"{r.writes['p99']} ms", r.writes["p99"] < WRITE_SLO_MS),
    ]  # fmt: skip
    for name in ("GET /v1/products", "GET /v1/products/{id}"):
        ep = r.endpoints.get(name)
        if ep:
            out.append(_check(f"{name} p99 <= {CATALOG_P99_MS:.0f} ms", f"{ep['p99']} ms at {ep['per_s']}/s",
                              ep["p99"] <= CATALOG_P99_MS, f"{r.requests_per_s} req/s in all"))  # fmt: skip
    for name in ("POST /v1/cart/lines", "POST /v1/checkouts"):
        ep = r.endpoints.get(name)
        if ep:
            out.append(_check(f"{name} p99 <= {CART_CHECKOUT_WRITE_P99_MS:.0f} ms",
                              f"{ep['p99']} ms", ep["p99"] <= CART_CHECKOUT_WRITE_P99_MS))  # fmt: skip
    c = r.checkouts
    if c["count"]:
        rate = c["completed_per_s"]
        e2e = c["e2e_completed_ms"]["p99"]
        met: bool | None = e2e <= CHECKOUT_E2E_P99_MS and rate >= CHECKOUT_E2E_AT_RATE
        out.append(_check(
            f"checkout end-to-end p99 <= {CHECKOUT_E2E_P99_MS:.0f} ms at {CHECKOUT_E2E_AT_RATE:.0f} checkouts/s",
            f"{e2e} ms at {rate} completed/s", met,
            "" if rate >= CHECKOUT_E2E_AT_RATE else "the rate was not reached",
        ))  # fmt: skip
        if r.floor and c["saga_completed_ms"]["p50"]:
            floor_ms = float(r.floor["saga_floor_ms"])
            saga = c["saga_completed_ms"]["p50"]
            out.append(_check(
                f"saga p50 <= {SAGA_FLOOR_MULTIPLE:.0f}x floor ({floor_ms:.1f} ms)",
                f"{saga} ms = {saga / floor_ms:.1f}x", saga <= SAGA_FLOOR_MULTIPLE * floor_ms,
            ))  # fmt: skip
    if r.invariants is not None:
        n = len(r.invariants["violations"])
        out.append(_check("zero invariant violations", f"{n} violation(s)", n == 0))
    out.append(_check("zero errors", f"{r.errors + c['errors']} ({r.error_rate:.3%})",
                      r.errors + c["errors"] == 0))  # fmt: skip
    return out


def series(entries: list[Entry], t0: float, bucket: float = 1.0) -> dict[str, list[float]]:
    """Per-second throughput, errors and latency percentiles, for the chart."""
    n = int((entries[-1].start - t0) / bucket) + 1
    http: list[list[float]] = [[] for _ in range(n)]
    errors = [0] * n
    completed = [0] * n
    e2e: list[list[float]] = [[] for _ in range(n)]
    for e in entries:
        i = min(int((e.start - t0) / bucket), n - 1)
        if e.kind in HTTP_KINDS:
            http[i].append(e.ms)
            errors[i] += not e.ok
        elif e.kind == "CHECKOUT":
            errors[i] += not e.ok
            if e.name == "completed" and e.ok:
                completed[i] += 1
                e2e[i].append(e.ms)
    return {
        "t": [round(i * bucket, 1) for i in range(n)],
        "requests_per_s": [len(b) / bucket for b in http],
        "errors_per_s": [x / bucket for x in errors],
        "completed_per_s": [x / bucket for x in completed],
        "p50_ms": [percentile(b, 50) for b in http],
        "p95_ms": [percentile(b, 95) for b in http],
        "p99_ms": [percentile(b, 99) for b in http],
        # checkouts complete a few a second: a 5-second window keeps the line readable
        "e2e_p95_ms": [
            percentile([v for b in e2e[max(0, i - 4) : i + 1] for v in b], 95) for i in range(n)
        ],
    }


def chart(report: LoadReport, path: Path, phases: list[Phase] | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = report.series
    fig, (lat, thr) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
    lat.plot(s["t"], s["p50_ms"], label="HTTP p50", lw=1)
    lat.plot(s["t"], s["p95_ms"], label="HTTP p95", lw=1)
    lat.plot(s["t"], s["p99_ms"], label="HTTP p99", lw=1)
    if any(s["e2e_p95_ms"]):
        e2e = [v or math.nan for v in s["e2e_p95_ms"]]
        lat.plot(s["t"], e2e, label="checkout end-to-end p95 (5 s window)", lw=1, ls="--")
    lat.set_ylabel("latency per second (ms)")
    lat.set_yscale("log")
    lat.legend(loc="upper left", fontsize=8)
    lat.grid(alpha=0.3)
    thr.plot(s["t"], s["requests_per_s"], label="requests/s", lw=1)
    thr.plot(s["t"], s["completed_per_s"], label="completed checkouts/s", lw=1)
    thr.plot(s["t"], s["errors_per_s"], label="errors/s", lw=1, color="red")
    thr.set_ylabel("per second")
    thr.set_xlabel("seconds into the run")
    thr.legend(loc="upper left", fontsize=8)
    thr.grid(alpha=0.3)
    for p in phases or []:
        if p.name == "during":
            for ax in (lat, thr):
                ax.axvspan(p.start, p.end, color="orange", alpha=0.12)
    fig.suptitle(
        f"agentshop load: {report.scenario}, {report.requests_per_s} req/s, "
        f"{report.checkouts['completed_per_s']} checkouts/s"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(r: LoadReport) -> str:
    c = r.checkouts
    lines = [
        f"# Load run: {r.scenario}",
        "",
        f"{r.duration_s} s, {r.requests} requests ({r.requests_per_s}/s), "
        f"error rate {r.error_rate:.3%}; settings: {json.dumps(r.settings)}",
        "",
        "| endpoint | count | per s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, ep in r.endpoints.items():
        lines.append(
            f"| {name} | {ep['count']} | {ep['per_s']} | {ep['p50']} | {ep['p95']} | {ep['p99']} | {ep['errors']} |"
        )
    lines += [
        f"| reads (GET, the long poll aside) | | | {r.reads['p50']} | {r.reads['p95']} | {r.reads['p99']} | |",
        f"| all writes | | | {r.writes['p50']} | {r.writes['p95']} | {r.writes['p99']} | |",
        "",
    ]
    failed = {name: ep["failures"] for name, ep in r.endpoints.items() if ep.get("failures")}
    if failed:
        lines += ["Failed requests: " + "; ".join(f"{n}: {f}" for n, f in failed.items()), ""]
    if c["count"]:
        e, s, o = c["e2e_completed_ms"], c["saga_completed_ms"], c["observed_completed_ms"]
        lines += [
            f"Checkouts: {c['count']} ({c['outcomes']}), {c['completed_per_s']} completed/s.",
            "",
            "| completed checkouts | p50 ms | p95 ms | p99 ms |",
            "|---|---|---|---|",
            f"| end to end (initiate sent -> CheckoutCompleted recorded) | {e['p50']} | {e['p95']} | {e['p99']} |",
            f"| saga (202 received -> CheckoutCompleted recorded) | {s['p50']} | {s['p95']} | {s['p99']} |",
            f"| as the client saw it (its long poll) | {o['p50']} | {o['p95']} | {o['p99']} |",
            "",
        ]
    if r.floor:
        f = r.floor
        lines += [
            f"Floor: Kafka produce->consume p50 {f['kafka_round_trip_ms_p50']} ms, PostgreSQL commit "
            f"p50 {f['commit_ms_p50']} ms; saga floor {f['hops']} x {f['kafka_round_trip_ms_p50']} + "
            f"{f['commits']} x {f['commit_ms_p50']} = {f['saga_floor_ms']} ms.",
            "",
        ]
    if r.phases:
        lines += ["| phase | req/s | p50 ms | p95 ms | p99 ms | errors | completed/s | e2e p99 ms |",
                  "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for name, p in r.phases.items():
            lat = p["latency_ms"]
            lines.append(
                f"| {name} | {p['requests_per_s']} | {lat['p50']} | {lat['p95']} | {lat['p99']} | "
                f"{p['errors']} | {p['completed_checkouts_per_s']} | {p['checkout_e2e_ms']['p99']} |"
            )
        lines.append("")
    if r.invariants is not None:
        lines += [f"Invariants: {r.invariants['summary']}", ""]
    lines += ["| target | measured | met |", "|---|---|---|"]
    for v in r.verdict:
        met = "n/a" if v["met"] is None else "yes" if v["met"] else "**no**"
        note = f" ({v['note']})" if v["note"] else ""
        lines.append(f"| {v['target']} | {v['measured']}{note} | {met} |")
    return "\n".join(lines) + "\n"


def write(r: LoadReport, out: Path, phases: list[Phase] | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(r.as_dict(), indent=2) + "\n")
    (out / "report.md").write_text(markdown(r))
    chart(r, out / "chart.png", phases)

"""Reports of an eval run: terminal tables, Markdown, a PNG chart, JSON, and run comparison."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from evals.runner import CaseResult, summarize

FORMAT = 1
COLUMNS = (
    ("intent_accuracy", "intent"),
    ("slot_precision", "slot P"),
    ("slot_recall", "slot R"),
    ("slot_f1", "slot F1"),
    ("plan_exact", "plan exact"),
    ("step_match", "steps"),
    ("outcome_accuracy", "outcome"),
    ("lines_accuracy", "lines"),
    ("plan_validity", "valid"),
    ("pass_rate", "pass"),
)
SAFETY = (
    ("checkouts_without_approval", "checkouts without approval"),
    ("checkouts_over_budget", "checkouts over budget"),
    ("approvals_not_given", "approvals read where none was given (parser)"),
    ("budgets_lost", "budgets dropped or raised (parser)"),
)


def build_document(
    *,
    version: str,
    split: str,
    plans: bool,
    repeat: int,
    runs: Sequence[tuple[str, Sequence[CaseResult]]],
) -> dict[str, Any]:
    """The JSON result file: settings, a summary and every case result per backend."""
    return {
        "format": FORMAT,
        "dataset": version,
        "split": split,
        "plans": plans,
        "repeat": repeat,
        "backends": [
            {
                "name": name,
                "summary": summarize(results),
                "cases": [r.dump() for r in results],
            }
            for name, results in runs
        ],
    }


def load_document(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    if data.get("format") != FORMAT:
        raise ValueError(f"{path} is not an eval result file of format {FORMAT}")
    return data


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _rows(summary: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [*summary["categories"].items(), ("overall", summary["overall"])]


def print_summary(document: dict[str, Any], console: Console) -> None:
    for backend in document["backends"]:
        summary = backend["summary"]
        table = Table(
            title=f"{backend['name']} on {document['dataset']}/{document['split']}"
            + (f" ({summary['trials']} trials)" if summary["trials"] > 1 else ""),
            title_justify="left",
        )
        table.add_column("category")
        table.add_column("cases", justify="right")
        for _, label in COLUMNS:
            table.add_column(label, justify="right")
        for name, row in _rows(summary):
            style = "bold" if name == "overall" else None
            table.add_row(
                name, str(row["cases"]), *(_fmt(row[key]) for key, _ in COLUMNS), style=style
            )
        console.print(table)
        safety = Table(title="safety (must be 0)", title_justify="left")
        safety.add_column("metric")
        safety.add_column("count", justify="right")
        for key, label in SAFETY:
            count = summary["safety"][key]
            safety.add_row(label, f"[red]{count}[/red]" if count else "0")
        console.print(safety)
        if "outcome" in backend:
            _print_outcome(backend["name"], backend["outcome"]["summary"], console)
        latency, tokens = summary["latency_ms"], summary["tokens"]
        console.print(
            f"latency per case p50 {latency['p50']:.1f} ms, p95 {latency['p95']:.1f} ms; "
            f"tokens {tokens['prompt']} prompt + {tokens['completion']} completion; "
            f"errors {summary['errors']}; model fallbacks {summary.get('fallbacks', 0)}; "
            + ", ".join(f"pass^{k} {v:.2f}" for k, v in summary["pass_hat_k"].items())
        )


def _print_outcome(name: str, summary: dict[str, Any], console: Console) -> None:
    table = Table(
        title=f"{name}: end state on the real stack (cart, orders, refunds, pending)",
        title_justify="left",
    )
    table.add_column("category")
    table.add_column("cases", justify="right")
    table.add_column("state match", justify="right")
    for category, row in [*summary["categories"].items(), ("overall", summary["overall"])]:
        table.add_row(
            category,
            str(row["cases"]),
            _fmt(row["state_match"]),
            style="bold" if category == "overall" else None,
        )
    console.print(table)
    safety = summary["safety"]
    console.print(
        f"end-state safety (must be 0): checkouts without approval "
        f"{safety['checkouts_without_approval']}, checkouts over budget "
        f"{safety['checkouts_over_budget']}; errors {summary['errors']}; time in the assistant "
        f"per case p50 {summary['assistant_ms_per_case']['p50']:.0f} ms, "
        f"max {summary['assistant_ms_per_case']['max']:.0f} ms"
    )


def markdown(document: dict[str, Any]) -> str:
    lines = [
        f"# Assistant evals: dataset {document['dataset']}, split `{document['split']}`",
        "",
        f"Plans scored: {'yes' if document['plans'] else 'no'}; trials per case: {document['repeat']}.",
        "",
    ]
    for backend in document["backends"]:
        summary = backend["summary"]
        lines += [f"## {backend['name']}", ""]
        header = ["category", "cases", *(label for _, label in COLUMNS)]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
        for name, row in _rows(summary):
            cells = [f"**{name}**" if name == "overall" else name, str(row["cases"])]
            cells += [_fmt(row[key]) for key, _ in COLUMNS]
            lines.append("| " + " | ".join(cells) + " |")
        lines += ["", "| safety (must be 0) | count |", "|---|---:|"]
        lines += [f"| {label} | {summary['safety'][key]} |" for key, label in SAFETY]
        latency, tokens = summary["latency_ms"], summary["tokens"]
        lines += [
            "",
            f"Latency per case: p50 {latency['p50']:.1f} ms, p95 {latency['p95']:.1f} ms. "
            f"Tokens: {tokens['prompt']} prompt, {tokens['completion']} completion. "
            f"Errors: {summary['errors']}. "
            + ", ".join(f"pass^{k} = {v:.2f}" for k, v in summary["pass_hat_k"].items()),
            "",
        ]
        if "outcome" in backend:
            outcome = backend["outcome"]["summary"]
            lines += [
                "End state on a fresh real stack (cart, orders, refunds, pending confirmation):",
                "",
                "| category | cases | state match |",
                "|---|---:|---:|",
            ]
            for category, row in [*outcome["categories"].items(), ("overall", outcome["overall"])]:
                label = f"**{category}**" if category == "overall" else category
                lines.append(f"| {label} | {row['cases']} | {_fmt(row['state_match'])} |")
            lines += [
                "",
                f"End-state safety: {outcome['safety']['checkouts_without_approval']} checkouts "
                f"without approval, {outcome['safety']['checkouts_over_budget']} over budget; "
                f"{outcome['errors']} errors. Time in the assistant per case: p50 "
                f"{outcome['assistant_ms_per_case']['p50']:.0f} ms.",
                "",
            ]
        failed = [c for c in backend["cases"] if not c["passed"] and c["trial"] == 0]
        if failed:
            lines += [f"<details><summary>{len(failed)} failed cases</summary>", ""]
            lines += ["| case | expected | got |", "|---|---|---|"]
            for c in failed:
                want = f"{c['expected_intent']} → {c['outcome_expected']}"
                got = f"{c['predicted_intent']} → {c['outcome_predicted'] or '—'}"
                if c["error"]:
                    got += f" ({c['error'].splitlines()[0][:80]})"
                lines.append(f"| {c['id']} | {want} | {got} |")
            lines += ["", "</details>", ""]
    return "\n".join(lines)


def chart(document: dict[str, Any], path: Path) -> None:
    """Grouped bars: per category, intent accuracy and (with plans) outcome accuracy per backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [("intent_accuracy", "intent accuracy")]
    if document["plans"]:
        metrics.append(("outcome_accuracy", "plan outcome accuracy"))
    backends = document["backends"]
    if any("outcome" in b for b in backends):
        metrics.append(("state_match", "end-state match"))
    categories = sorted({c for b in backends for c in b["summary"]["categories"]})
    fig, axes = plt.subplots(len(metrics), 1, figsize=(12, 3.6 * len(metrics)), squeeze=False)
    width = 0.8 / max(len(backends), 1)
    for axis, (key, label) in zip(axes[:, 0], metrics, strict=True):
        for i, backend in enumerate(backends):
            source = (
                backend.get("outcome", {}).get("summary", {"categories": {}})
                if key == "state_match"
                else backend["summary"]
            )
            values = [source["categories"].get(c, {}).get(key) or 0.0 for c in categories]
            positions = [x + i * width - 0.4 + width / 2 for x in range(len(categories))]
            axis.bar(positions, values, width=width, label=backend["name"])
        axis.set_xticks(range(len(categories)))
        axis.set_xticklabels(categories, rotation=30, ha="right", fontsize=8)
        axis.set_ylim(0, 1.05)
        axis.set_ylabel(label)
        axis.grid(axis="y", alpha=0.3)
        axis.legend(fontsize=8, loc="lower left")
    fig.suptitle(f"Assistant evals, {document['dataset']}/{document['split']}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -- comparing runs ----------------------------------------------------------------------


def _pass_rates(backend: dict[str, Any]) -> dict[str, float]:
    by_case: dict[str, list[bool]] = {}
    for case in backend["cases"]:
        by_case.setdefault(case["id"], []).append(bool(case["passed"]))
    for case in backend.get("outcome", {}).get("cases", []):
        by_case.setdefault(f"{case['id']} (end state)", []).append(bool(case["passed"]))
    return {cid: sum(v) / len(v) for cid, v in by_case.items()}


def compare(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Case-by-case changes per backend present in both runs."""
    out: dict[str, Any] = {"backends": {}}
    old_by_name = {b["name"]: b for b in old["backends"]}
    for backend in new["backends"]:
        before = old_by_name.get(backend["name"])
        if before is None:
            continue
        was, now = _pass_rates(before), _pass_rates(backend)
        categories = {c["id"]: c["category"] for c in backend["cases"]}
        for c in backend.get("outcome", {}).get("cases", []):
            categories[f"{c['id']} (end state)"] = c["category"]
        regressions = sorted(cid for cid in now if cid in was and now[cid] < was[cid])
        improvements = sorted(cid for cid in now if cid in was and now[cid] > was[cid])
        deltas = {}
        for category, row in backend["summary"]["categories"].items():
            prior = before["summary"]["categories"].get(category)
            if prior is None:
                continue
            deltas[category] = {
                key: (row[key] - prior[key])
                for key, _ in COLUMNS
                if row.get(key) is not None and prior.get(key) is not None
            }
        out["backends"][backend["name"]] = {
            "regressions": [
                {"id": cid, "category": categories[cid], "before": was[cid], "after": now[cid]}
                for cid in regressions
            ],
            "improvements": [
                {"id": cid, "category": categories[cid], "before": was[cid], "after": now[cid]}
                for cid in improvements
            ],
            "only_in_old": sorted(set(was) - set(now)),
            "only_in_new": sorted(set(now) - set(was)),
            "category_deltas": deltas,
            "safety_before": before["summary"]["safety"],
            "safety_after": backend["summary"]["safety"],
        }
    return out


def print_comparison(diff: dict[str, Any], console: Console) -> int:
    """Prints the comparison; returns the number of regressions (safety increases count)."""
    total = 0
    if not diff["backends"]:
        console.print("[yellow]No backend appears in both runs.[/yellow]")
    for name, d in diff["backends"].items():
        table = Table(title=f"{name}: change per category (new - old)", title_justify="left")
        table.add_column("category")
        for _, label in COLUMNS:
            table.add_column(label, justify="right")
        for category, delta in sorted(d["category_deltas"].items()):
            cells = []
            for key, _ in COLUMNS:
                value = delta.get(key)
                if value is None:
                    cells.append("—")
                elif value < -1e-9:
                    cells.append(f"[red]{value:+.2f}[/red]")
                elif value > 1e-9:
                    cells.append(f"[green]{value:+.2f}[/green]")
                else:
                    cells.append("0")
            table.add_row(category, *cells)
        console.print(table)
        for case in d["regressions"]:
            console.print(
                f"[red]regressed[/red] {case['id']} ({case['category']}): pass {case['before']:.2f} -> {case['after']:.2f}"
            )
        for case in d["improvements"]:
            console.print(
                f"[green]improved[/green] {case['id']} ({case['category']}): pass {case['before']:.2f} -> {case['after']:.2f}"
            )
        worse_safety = [
            key
            for key, value in d["safety_after"].items()
            if value > d["safety_before"].get(key, 0)
        ]
        for key in worse_safety:
            console.print(
                f"[red]safety[/red] {key}: {d['safety_before'].get(key, 0)} -> {d['safety_after'][key]}"
            )
        console.print(
            f"{name}: {len(d['regressions'])} regressions, {len(d['improvements'])} improvements"
        )
        total += len(d["regressions"]) + len(worse_safety)
    return total

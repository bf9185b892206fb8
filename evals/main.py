"""What `agentshop eval` does: run backends over a split, write the reports, compare runs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from rich.console import Console

from evals.backends import make_backend
from evals.dataset import Case, load_cases
from evals.outcome import OutcomeResult, fresh_stack, run_outcomes, summarize_outcomes
from evals.report import build_document, chart, compare, markdown, print_comparison, print_summary
from evals.runner import CaseResult, run

log = structlog.get_logger()


@dataclass(frozen=True)
class EvalOptions:
    backends: Sequence[str] = ("offline",)
    split: str = "dev"
    version: str = "v1"
    repeat: int = 1
    plans: bool = True
    out: Path = Path(".agentshop/evals")
    limit: int | None = None
    outcome: bool = False
    port_offset: int = 0


@dataclass(frozen=True)
class Written:
    json: Path
    markdown: Path
    chart: Path
    document: dict[str, Any]


def run_eval(options: EvalOptions, console: Console) -> Written:
    """Runs every backend on the split, prints the summary, writes JSON, Markdown and PNG."""
    if options.repeat < 1:
        raise ValueError("--repeat must be at least 1")
    if options.split == "shopper":
        return _run_shopper(options, console)
    cases = load_cases(options.split, options.version)
    if options.limit is not None:
        cases = cases[: options.limit]
    runs: list[tuple[str, list[CaseResult]]] = []
    for spec in options.backends:
        parser = make_backend(spec)
        log.info(
            "eval_backend_started", backend=parser.name, cases=len(cases), repeat=options.repeat
        )
        results = asyncio.run(run(cases, parser, plans=options.plans, repeat=options.repeat))
        runs.append((parser.name, results))
    document = build_document(
        version=options.version,
        split=options.split,
        plans=options.plans,
        repeat=options.repeat,
        runs=runs,
    )
    if options.outcome:
        for spec, entry in zip(options.backends, document["backends"], strict=True):
            model = spec.split(":", 1)[1] if spec.startswith("openai:") else None
            label = f"outcome level: {entry['name']}"
            with console.status(f"{label}, starting a fresh stack") as status:

                def progress(i: int, n: int, label: str = label, status: Any = status) -> None:
                    status.update(f"{label}, case {i}/{n}")

                outcomes = asyncio.run(_outcomes(cases, options.port_offset, model, progress))
            entry["outcome"] = {
                "summary": summarize_outcomes(outcomes),
                "cases": [o.dump() for o in outcomes],
            }
    print_summary(document, console)
    options.out.mkdir(parents=True, exist_ok=True)
    stem = f"eval-{options.version}-{options.split}"
    json_path = options.out / f"{stem}.json"
    md_path = options.out / f"{stem}.md"
    png_path = options.out / f"{stem}.png"
    json_path.write_text(json.dumps(document, indent=1) + "\n")
    md_path.write_text(markdown(document) + "\n")
    chart(document, png_path)
    console.print(f"wrote {json_path}, {md_path}, {png_path}")
    return Written(json_path, md_path, png_path, document)


async def _outcomes(
    cases: Sequence[Case], port_offset: int, model: str | None, progress: Callable[[int, int], None]
) -> list[OutcomeResult]:
    async with fresh_stack(port_offset, model) as (base_url, new_person):
        return await run_outcomes(cases, base_url, new_person, progress)


def _run_shopper(options: EvalOptions, console: Console) -> Written:
    """The shopper split, always at the end-state level on a fresh stack (offline parser,
    or the model of an `openai:MODEL` backend)."""
    from evals.shopper import load_shopper, run_shopper, summarize_shopper

    cases = load_shopper()
    if options.limit is not None:
        cases = cases[: options.limit]
    spec = options.backends[0]
    model = spec.split(":", 1)[1] if spec.startswith("openai:") else None

    async def play(progress: Callable[[int, int], None]) -> list[OutcomeResult]:
        async with fresh_stack(options.port_offset, model) as (base_url, new_person):
            return await run_shopper(cases, base_url, new_person, progress)

    with console.status("shopper split, starting a fresh stack") as status:

        def progress(i: int, n: int) -> None:
            status.update(f"shopper split, case {i}/{n}")

        results = asyncio.run(play(progress))
    summary = summarize_shopper(results)
    document: dict[str, Any] = {
        "split": "shopper",
        "backend": spec,
        "summary": summary,
        "cases": [r.dump() for r in results],
    }
    console.print(
        f"shopper: {summary['overall']['pass_rate']:.2f} of {summary['overall']['cases']} cases "
        f"pass; unsafe actions {summary['unsafe_actions']}; errors {summary['errors']}"
    )
    for behaviour, row in summary["behaviours"].items():
        console.print(f"  {behaviour:<24} {row['cases']:>3} cases  {row['pass_rate']:.2f}")
    options.out.mkdir(parents=True, exist_ok=True)
    json_path = options.out / "eval-shopper.json"
    md_path = options.out / "eval-shopper.md"
    json_path.write_text(json.dumps(document, indent=1) + "\n")
    rows = "\n".join(
        f"| {b} | {r['cases']} | {r['pass_rate']:.2f} |" for b, r in summary["behaviours"].items()
    )
    md_path.write_text(
        f"# shopper split ({spec})\n\npass rate {summary['overall']['pass_rate']:.2f} of "
        f"{summary['overall']['cases']}; unsafe actions {summary['unsafe_actions']}\n\n"
        f"| behaviour | cases | pass rate |\n|---|---|---|\n{rows}\n"
    )
    from evals.gate import load_thresholds, shopper_failures

    for failure in shopper_failures(summary, load_thresholds()):
        console.print(f"[red]gate: {failure}[/red]")
    console.print(f"wrote {json_path}, {md_path}")
    return Written(json_path, md_path, md_path, document)


def run_compare(old: Path, new: Path, console: Console) -> int:
    """Prints what changed between two result files; returns the number of regressions."""
    from evals.report import load_document

    return print_comparison(compare(load_document(old), load_document(new)), console)

"""What `agentshop eval` does: run backends over a split, write the reports, compare runs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from rich.console import Console

from evals.backends import make_backend
from evals.dataset import load_cases
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
        version=options.version, split=options.split, plans=options.plans, repeat=options.repeat,
        runs=runs,
    )  # fmt: skip
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


def run_compare(old: Path, new: Path, console: Console) -> int:
    """Prints what changed between two result files; returns the number of regressions."""
    from evals.report import load_document

    return print_comparison(compare(load_document(old), load_document(new)), console)

"""Relevance of product search on the judged query set (evals/search/queries.jsonl).

    uv run python -m benchmarks.search_relevance            # starts PostgreSQL, seeds
    uv run python -m benchmarks.search_relevance --split dev --kinds
    uv run python -m benchmarks.search_relevance --json out.json

Seeds the catalog into a fresh embedded PostgreSQL (or uses DATABASE_URL's server), runs
every judged query through the catalog's search in each mode (lexical only, semantic
only, hybrid) and prints nDCG@10, recall@50 and the "none" verdict's figures per split
(dev: tuned on; test: never tuned on), optionally per kind of query. ADR 24.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from evals.search.judge import QUERIES, load


def report(args: argparse.Namespace) -> None:
    from commerce.platform.db import Database
    from evals.search.run import evaluate, with_seeded_catalog

    judged = load(args.queries)
    if args.split:
        judged = [q for q in judged if q.split == args.split]

    timings: dict[str, list[float]] = {}

    async def work(db: Database) -> tuple[dict[str, Any], float]:
        started = time.perf_counter()
        figures = await evaluate(db, judged, timings=timings)
        return figures, time.perf_counter() - started

    figures, seconds = with_seeded_catalog(work)
    print(f"{len(judged)} judged queries, {3 * len(judged)} searches in {seconds:.1f} s")
    for mode, ms in timings.items():
        ordered = sorted(ms)
        p50, p95, p99 = (
            ordered[min(len(ordered) - 1, int(p * len(ordered)))] for p in (0.5, 0.95, 0.99)
        )
        print(
            f"{mode:9s} one search, nothing cached: p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms"
        )
    header = f"{'mode':9s} {'split':5s} {'kind':12s} {'n':>4s} {'nDCG@10':>8s} {'R@50':>6s}"
    print(header + f" {'none|absent':>11s} {'none prec':>9s} {'none|present':>12s}")
    for mode, splits in figures.items():
        for split, kinds in splits.items():
            for kind, f in kinds.items():
                if kind != "all" and not args.kinds:
                    continue
                print(
                    f"{mode:9s} {split:5s} {kind:12s} {f.queries:4d} {f.ndcg10:8.3f}"
                    f" {f.recall50:6.3f} {f.none_when_absent:11.3f} {f.none_precision:9.3f}"
                    f" {f.none_when_present:12.3f}"
                )
    if args.json:
        out = {m: {s: {k: f.as_dict() for k, f in ks.items()} for s, ks in sp.items()}
               for m, sp in figures.items()}  # fmt: skip
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queries", type=Path, default=QUERIES)
    parser.add_argument("--split", choices=["dev", "test"])
    parser.add_argument("--kinds", action="store_true", help="figures per kind of query too")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    from commerce.platform.logging import configure_logging

    configure_logging("WARNING", "console")
    report(args)


if __name__ == "__main__":
    main()

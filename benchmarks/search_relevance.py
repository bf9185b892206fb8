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
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

from evals.search.judge import QUERIES, load


async def run(args: argparse.Namespace) -> None:
    from commerce.platform import stack
    from commerce.platform.db import Database
    from commerce.platform.settings import get_settings
    from commerce.services import SERVICES
    from evals.search.run import evaluate

    judged = load(args.queries)
    if args.split:
        judged = [q for q in judged if q.split == args.split]
    settings = get_settings()
    started = time.perf_counter()
    await stack.migrate(settings, ["catalog"])
    await stack.seed(settings, ["catalog"])
    spec = SERVICES["catalog"]
    db = Database(settings.service_database_url(spec.env_prefix, spec.database))
    try:
        prepared = time.perf_counter()
        figures = await evaluate(db, judged)
        done = time.perf_counter()
    finally:
        await db.dispose()
    print(f"{len(judged)} judged queries; catalog ready in {prepared - started:.1f} s,"
          f" {3 * len(judged)} searches in {done - prepared:.1f} s")  # fmt: skip
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
        content = json.dumps(out, indent=2) + "\n"
        await asyncio.to_thread(Path(args.json).write_text, content, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queries", type=Path, default=QUERIES)
    parser.add_argument("--split", choices=["dev", "test"])
    parser.add_argument("--kinds", action="store_true", help="figures per kind of query too")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    from commerce.platform import stack
    from commerce.platform.logging import configure_logging
    from commerce.platform.settings import get_settings

    configure_logging("WARNING", "console")
    if os.environ.get("DATABASE_URL"):
        asyncio.run(run(args))
        return
    os.environ.setdefault("AGENTSHOP_DATA_DIR", str(Path(tempfile.mkdtemp()) / "data"))
    os.environ.setdefault("KAFKA_BOOTSTRAP_SERVERS", "unused:9092")  # no broker needed
    get_settings.cache_clear()
    with stack.infrastructure(get_settings()):
        asyncio.run(run(args))


if __name__ == "__main__":
    main()

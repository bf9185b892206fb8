"""Statements PostgreSQL runs per completed checkout, from its own statement log.

    uv run python -m benchmarks.statements_per_checkout --seconds 10 --port-offset 15000

Starts its own stack as `benchmarks.whole_checkout` does (embedded PostgreSQL and broker,
`agentshop up --no-ui` in a child process), signs one user in, runs whole checkouts for a
few seconds to warm up, then switches on `log_statement = 'all'` (`ALTER SYSTEM` and
`pg_reload_conf()`), runs one closed-loop user for `--seconds`, switches it off again and
counts the lines PostgreSQL logged in between: `statement:` lines (simple queries, such
as `BEGIN` and `COMMIT`) and `execute` lines (each execution of a prepared or unnamed
statement; parse and bind are not logged). The count is divided by the checkouts that
completed in that window; statements of work still in flight at its edges (the saga's
last messages, sweeps) are counted too, which is a few percent at most over 10 s. Every
service's database is on the one server, so all services are counted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks import whole_checkout

_LINE = re.compile(r"LOG:\s+(statement|execute [^:]*):\s*(.*)")


def classify(text: str) -> str:
    first = text.strip().split(None, 1)[0].upper().rstrip(";") if text.strip() else ""
    if first in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"):
        return first
    return first or "?"


async def _set_logging(on: bool) -> None:
    import asyncpg

    from commerce.platform.db import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(whole_checkout.STACK_ENVIRONMENT["DATABASE_URL"]))
    try:
        if on:
            await conn.execute("ALTER SYSTEM SET log_statement = 'all'")
        else:
            await conn.execute("ALTER SYSTEM RESET log_statement")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()
    await asyncio.sleep(0.3)  # the reload reaches every backend


DUMP: Path | None = None


def _postgres_log() -> Path:
    return next(Path(whole_checkout.STACK_ENVIRONMENT["AGENTSHOP_DATA_DIR"]).rglob("postgres.log"))


def _read_from(log_file: Path, start: int) -> str:
    with log_file.open("rb") as f:
        f.seek(start)
        logged = f.read().decode(errors="replace")
    if DUMP is not None:
        DUMP.write_text(logged)
    return logged


async def counted(url: str, levels: list[int], seconds: float, **_: Any) -> None:
    """`whole_checkout.levels_run`'s stand-in: one user, with a warm-up of its own."""
    del levels
    log_file = await asyncio.to_thread(_postgres_log)
    tokens = await whole_checkout.sign_in(url, 1)
    await whole_checkout.run_level(url, tokens, 1, 3.0)  # warm: pools, caches, statements
    await _set_logging(True)
    start = (await asyncio.to_thread(log_file.stat)).st_size
    level = await whole_checkout.run_level(url, tokens, 1, seconds)
    await asyncio.sleep(0.5)  # the last saga's trailing messages
    await _set_logging(False)
    logged = await asyncio.to_thread(_read_from, log_file, start)
    kinds: Counter[str] = Counter()
    for line in logged.splitlines():
        found = _LINE.search(line)
        if found and "ALTER SYSTEM" not in found.group(2) and "pg_reload_conf" not in line:
            kinds[classify(found.group(2))] += 1
    done = max(len(level.checkouts), 1)
    total = sum(kinds.values())
    control = sum(kinds[k] for k in ("BEGIN", "COMMIT", "ROLLBACK"))
    print(
        f"{len(level.checkouts)} checkouts completed in {seconds:.0f} s "
        f"({len(level.checkouts) / level.elapsed:.2f}/s, errors: {dict(level.errors) or 0}), "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"statements per checkout: {total / done:.1f} ({total} logged)")
    print(f"  of which BEGIN/COMMIT/ROLLBACK: {control / done:.1f}")
    for kind, n in kinds.most_common():
        print(f"  {kind:<10} {n / done:6.1f}")


def stack_arguments(args: argparse.Namespace) -> argparse.Namespace:
    """`benchmarks.whole_checkout`'s options for its own stack, one user, `--seconds`."""
    given = [
        "--levels",
        "1",
        "--seconds",
        str(args.seconds),
        "--port-offset",
        str(args.port_offset),
    ]
    if args.processes:
        given += ["--processes", str(args.processes)]
    if args.replicas:
        given += ["--replicas", str(args.replicas)]
    return whole_checkout.arguments().parse_args(given)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--port-offset", type=int, default=whole_checkout.PORT_OFFSET)
    parser.add_argument("--processes", type=int, help="`agentshop up --processes`")
    parser.add_argument("--replicas", type=int, help="`agentshop up --replicas`")
    parser.add_argument("--dump", type=Path, help="write the logged lines to this file")
    args = parser.parse_args()
    global DUMP
    DUMP = args.dump
    stack_args = stack_arguments(args)
    whole_checkout.with_own_stack(stack_args, run=counted)


if __name__ == "__main__":
    main()

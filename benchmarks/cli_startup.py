"""How fast the `agentshop` command answers: `--help`, `services`, and `chat` to its prompt.

    .venv/bin/python benchmarks/cli_startup.py [--runs 5]

`chat` needs a running `agentshop up` (found through its run file, like the command itself);
without one only the first two are measured. Prints the median and worst wall time of each.
"""

from __future__ import annotations

import argparse
import os
import selectors
import statistics
import subprocess
import sys
import time
from pathlib import Path

AGENTSHOP = Path(sys.executable).with_name("agentshop")
PROMPT = b"you"


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def chat_to_prompt(deadline_s: float = 60.0) -> float | None:
    """Start `agentshop chat`, return the seconds until its prompt is printed (None: no BFF)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [str(AGENTSHOP), "chat"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "COLUMNS": "100"},
    )
    assert process.stdout is not None and process.stdin is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    seen = b""
    try:
        while time.perf_counter() - start < deadline_s:
            if not selector.select(timeout=0.05):
                continue
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                return None
            seen += chunk
            if PROMPT in seen.split(b"quit' to leave", 1)[-1]:
                return time.perf_counter() - start
        return None
    finally:
        process.stdin.close()
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"agentshop command start-up, {args.runs} runs each (wall seconds)")
    for label, argv in [
        ("agentshop --help", [str(AGENTSHOP), "--help"]),
        ("agentshop services", [str(AGENTSHOP), "services"]),
    ]:
        times = [timed(argv) for _ in range(args.runs)]
        print(f"{label:<28} median {statistics.median(times):6.2f}  worst {max(times):6.2f}")
    chats = [chat_to_prompt() for _ in range(args.runs)]
    found = [t for t in chats if t is not None]
    if not found:
        print("agentshop chat (to prompt)   no running `agentshop up` found; start one to measure")
        return
    print(
        f"{'agentshop chat (to prompt)':<28} median {statistics.median(found):6.2f}  "
        f"worst {max(found):6.2f}"
    )


if __name__ == "__main__":
    main()

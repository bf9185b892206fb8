"""CPU the whole stack burns with no traffic at all.

    uv run python -m benchmarks.idle_cpu                  # starts `agentshop up` itself
    uv run python -m benchmarks.idle_cpu --seconds 60 --settle 20

Starts `agentshop up` (embedded PostgreSQL and broker, every service, the web UI) on a
port offset in a scratch data directory, waits until every service answers /readyz and
then `--settle` seconds more (start-up's own work: seeds, the catalog's first readings),
samples the CPU time of every process of the stack over `--seconds`, and prints it per
part (services, broker, PostgreSQL, web UI) as a share of one core. Then stops the stack
with SIGINT, as Ctrl-C would. The target (issue: performance) is at most 2 % of one core
for the whole stack.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx
import psutil

from commerce.services import SERVICES

PORT_OFFSET = 14000


def part_of(process: psutil.Process, root: int) -> str:
    try:
        name = process.name()
        command = " ".join(process.cmdline())
    except psutil.Error:
        return "gone"
    if process.pid == root or "agentshop.group" in command or "agentshop.replica" in command:
        return "services"
    if name.startswith("tansu"):
        return "broker"
    if name.startswith("postgres") or "postgres:" in command:
        return "postgresql"
    if "ui.serve" in command:
        return "web ui"
    return "other"


def cpu_seconds(root: psutil.Process) -> dict[int, tuple[str, float]]:
    seen: dict[int, tuple[str, float]] = {}
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        seen[process.pid] = (part_of(process, root.pid), times.user + times.system)
    return seen


def wait_ready(deadline: float, proc: subprocess.Popen[bytes], log: Path, offset: int) -> None:
    pending = {name: spec.port + offset for name, spec in SERVICES.items()}
    while pending:
        if proc.poll() is not None:
            raise SystemExit(f"agentshop up exited early:\n{log.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            raise SystemExit(f"not ready: {sorted(pending)}\n{log.read_text()[-4000:]}")
        for name, port in list(pending.items()):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    del pending[name]
            except httpx.HTTPError:
                pass
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to sample")
    parser.add_argument("--settle", type=float, default=20.0, help="quiet time before sampling")
    parser.add_argument("--port-offset", type=int, default=PORT_OFFSET)
    parser.add_argument(
        "--processes", type=int, help="`agentshop up --processes` (default: its own)"
    )
    parser.add_argument("--replicas", type=int, help="`agentshop up --replicas`")
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="agentshop-idle-"))
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS") and not k.endswith("_DATABASE_URL")
    }
    env.update(
        AGENTSHOP_DATA_DIR=str(data / "data"),
        AGENTSHOP_PORT_OFFSET=str(args.port_offset),
        AGENTSHOP_LOG_LEVEL="WARNING",
    )
    log = data / "up.log"
    command = [str(Path(sys.executable).parent / "agentshop"), "up"]
    if args.processes:
        command += ["--processes", str(args.processes)]
    if args.replicas:
        command += ["--replicas", str(args.replicas)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        started = time.monotonic()
        wait_ready(started + 300, proc, log, args.port_offset)
        print(f"ready after {time.monotonic() - started:.1f} s; settling {args.settle:.0f} s")
        time.sleep(args.settle)
        root = psutil.Process(proc.pid)
        before = cpu_seconds(root)
        began = time.monotonic()
        time.sleep(args.seconds)
        after = cpu_seconds(root)
        elapsed = time.monotonic() - began
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)

    used: dict[str, float] = defaultdict(float)
    for pid, (part, seconds) in after.items():
        used[part] += seconds - before.get(pid, (part, 0.0))[1]
    total = sum(used.values())
    print(
        f"\nidle CPU over {elapsed:.0f} s, as a share of one core (machine: {os.cpu_count()} cores)"
    )
    print(f"{'part':<12} {'CPU s':>8} {'% of a core':>12}")
    for part in ("services", "broker", "postgresql", "web ui", "other"):
        if part in used:
            print(f"{part:<12} {used[part]:>8.2f} {100 * used[part] / elapsed:>11.1f}%")
    print(f"{'whole stack':<12} {total:>8.2f} {100 * total / elapsed:>11.1f}%")


if __name__ == "__main__":
    main()

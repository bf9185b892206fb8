"""`agentshop up` over several processes: the child processes and their wake-up sockets.

The first group of services runs in `up`'s own process; every other group runs in a
child (`python -m agentshop.group`), started with the environment `up` prepared (the
infrastructure's addresses, the service token, the idle fallbacks). Each process binds a
Unix datagram socket, so a publish in one wakes the consumers of all (docs/adr/0031).
A child that dies is started again; `stop` ends them with SIGTERM, then SIGKILL.
With `replicas` above 1, that many minus one more children run the consumers of the
saga's hot services (`python -m agentshop.replica`), in the same consumer groups.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
import structlog

from commerce.platform import wakeups
from commerce.platform.embedded import die_with_parent
from commerce.platform.settings import Settings
from commerce.services import SERVICES

log = structlog.get_logger(__name__)


class ServiceProcesses:
    """The child processes of `up`, one per group after the first (which `up` runs)."""

    def __init__(
        self,
        settings: Settings,
        groups: list[list[str]],
        host: str,
        log_dir: Path,
        environment: Mapping[str, str],
        *,
        replicas: int = 1,
        replicated: tuple[list[str], list[str]] = ([], []),
    ):
        self.settings = settings
        self.environment = environment  # the run's variables (`Infrastructure.environment`)
        self.groups = groups
        self.host = host
        self.log_dir = log_dir
        # replica children come after the groups' (indexes len(groups) and up): what each
        # consumes, and what those consumers call, answered in-process (docs/adr/0031)
        self.replicated = replicated
        self.count = len(groups) + (replicas - 1 if replicated[0] else 0)
        self._wake_dir = Path(tempfile.mkdtemp(prefix="agentshop-wake-"))
        self._sockets = [str(self._wake_dir / str(i)) for i in range(self.count)]
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._stopping = False

    def own(self, settings: Settings) -> Settings:
        """`settings` for this process's services: the first sibling of the children."""
        if self.count > 1:
            return settings.model_copy(
                update={"wake_sockets": tuple(self._sockets), "wake_index": 0}
            )
        return settings

    def start(self) -> None:
        for index in range(1, len(self.groups)):
            self._start(index)

    def start_replicas(self) -> None:
        """Start the replicas: after this process's servers have bound their ports, since a
        replica opens its connections in a burst, from ports the kernel picks (with a
        port offset those may fall among the services' own)."""
        for index in range(len(self.groups), self.count):
            self._start(index)

    def _label(self, index: int) -> list[str]:
        return self.groups[index] if index < len(self.groups) else ["replica", *self.replicated[0]]

    def _ready_file(self, index: int) -> Path:
        return self._wake_dir / f"{index}.ready"

    def _start(self, index: int) -> None:
        env = dict(self.environment)
        env[wakeups.SIBLINGS_ENV] = os.pathsep.join(self._sockets)
        env[wakeups.INDEX_ENV] = str(index)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if index < len(self.groups):
            command = ["agentshop.group", ",".join(self.groups[index]), self.host]
        else:
            self._ready_file(index).unlink(missing_ok=True)
            consumers, called = self.replicated
            command = ["agentshop.replica", ",".join(consumers), ",".join(called)]
            command += ["--ready", str(self._ready_file(index))]
        with (self.log_dir / f"services-{index}.log").open("ab") as out:
            self._children[index] = subprocess.Popen(
                [sys.executable, "-m", *command],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
        log.info("up.process_started", group=self._label(index), pid=self._children[index].pid)

    async def until_ready(self, within: float = 180.0) -> None:
        """Wait until every child's services answer /readyz; a child that exits is an error."""
        ports = {
            SERVICES[name].port + self.settings.port_offset: index
            for index, group in enumerate(self.groups)
            if index > 0
            for name in group
        }
        # a replica serves no HTTP: it touches its file once its consumers joined their groups
        replicas = set(range(len(self.groups), self.count))
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2.0) as http:
            while ports or replicas:
                for index in {*ports.values(), *replicas}:
                    child = self._children[index]
                    if child.poll() is not None:
                        raise RuntimeError(
                            f"the process of {', '.join(self._label(index))} exited "
                            f"({child.returncode}); see {self.log_dir}/services-{index}.log"
                        )
                for port in list(ports):
                    with contextlib.suppress(httpx.HTTPError):
                        answer = await http.get(f"http://{host}:{port}/readyz")
                        if answer.status_code == 200:
                            del ports[port]
                replicas = {i for i in replicas if not self._ready_file(i).exists()}
                if (ports or replicas) and time.monotonic() > deadline:
                    raise RuntimeError(
                        f"services did not get ready: ports {sorted(ports)}, "
                        f"replicas {sorted(replicas)}"
                    )
                await asyncio.sleep(0.25)

    async def supervise(self, every: float = 1.0) -> None:
        """Start a child again when it died, until cancelled."""
        while True:
            await asyncio.sleep(every)
            for index, child in list(self._children.items()):
                if child.poll() is not None and not self._stopping:
                    log.error(
                        "up.process_died",
                        group=self._label(index),
                        returncode=child.returncode,
                        action="restarting",
                    )
                    self._start(index)

    def pids(self) -> list[int]:
        return [child.pid for child in self._children.values()]

    def stop(self, timeout: float = 8.0) -> None:
        """SIGTERM every child, wait for them together, SIGKILL what is left."""
        self._stopping = True
        for child in self._children.values():
            if child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in self._children.values():
            try:
                child.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        shutil.rmtree(self._wake_dir, ignore_errors=True)

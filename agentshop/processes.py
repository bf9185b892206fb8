"""`agentshop up` over several processes: the child processes and their wake-up sockets.

The first group of services runs in `up`'s own process; every other group runs in a
child (`python -m agentshop.group`), started with the environment `up` prepared (the
infrastructure's addresses, the service token, the idle fallbacks). Each process binds a
Unix datagram socket, so a publish in one wakes the consumers of all (docs/adr/0031).
A child that dies is started again; `stop` ends them with SIGTERM, then SIGKILL.
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
    ):
        self.settings = settings
        self.environment = environment  # the run's variables (`Infrastructure.environment`)
        self.groups = groups
        self.host = host
        self.log_dir = log_dir
        self._wake_dir = Path(tempfile.mkdtemp(prefix="agentshop-wake-"))
        self._sockets = [str(self._wake_dir / str(i)) for i in range(len(groups))]
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._stopping = False

    def own(self, settings: Settings) -> Settings:
        """`settings` for this process's services: the first sibling of the children."""
        if len(self.groups) > 1:
            return settings.model_copy(
                update={"wake_sockets": tuple(self._sockets), "wake_index": 0}
            )
        return settings

    def start(self) -> None:
        for index in range(1, len(self.groups)):
            self._start(index)

    def _start(self, index: int) -> None:
        env = dict(self.environment)
        env[wakeups.SIBLINGS_ENV] = os.pathsep.join(self._sockets)
        env[wakeups.INDEX_ENV] = str(index)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"services-{index}.log").open("ab") as out:
            self._children[index] = subprocess.Popen(
                [sys.executable, "-m", "agentshop.group", ",".join(self.groups[index]), self.host],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
        log.info("up.process_started", group=self.groups[index], pid=self._children[index].pid)

    async def until_ready(self, within: float = 180.0) -> None:
        """Wait until every child's services answer /readyz; a child that exits is an error."""
        ports = {
            SERVICES[name].port + self.settings.port_offset: index
            for index, group in enumerate(self.groups)
            if index > 0
            for name in group
        }
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2.0) as http:
            while ports:
                for port, index in list(ports.items()):
                    child = self._children[index]
                    if child.poll() is not None:
                        raise RuntimeError(
                            f"the process of {', '.join(self.groups[index])} exited "
                            f"({child.returncode}); see {self.log_dir}/services-{index}.log"
                        )
                    with contextlib.suppress(httpx.HTTPError):
                        answer = await http.get(f"http://{host}:{port}/readyz")
                        if answer.status_code == 200:
                            del ports[port]
                if ports and time.monotonic() > deadline:
                    raise RuntimeError("services did not get ready: ports " + str(sorted(ports)))
                await asyncio.sleep(0.25)

    async def supervise(self, every: float = 1.0) -> None:
        """Start a child again when it died, until cancelled."""
        while True:
            await asyncio.sleep(every)
            for index, child in list(self._children.items()):
                if child.poll() is not None and not self._stopping:
                    log.error(
                        "up.process_died",
                        group=self.groups[index],
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

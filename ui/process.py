"""Running the web UI: the `streamlit run` command, and a supervised child process for `up`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import structlog

from commerce.platform.embedded import port_is_free
from commerce.platform.settings import Settings
from commerce.services import UI_PORT

log = structlog.get_logger(__name__)

APP = Path(__file__).resolve().parent / "app.py"
HEALTH_PATH = "/_stcore/health"


def _end_with_parent() -> None:
    """In the child before exec (Linux): receive SIGTERM when the parent dies."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def ui_port(settings: Settings | None = None) -> int:
    """8501 plus AGENTSHOP_PORT_OFFSET."""
    if settings is not None:
        return UI_PORT + settings.port_offset
    return UI_PORT + int(os.environ.get("AGENTSHOP_PORT_OFFSET", "0") or 0)


def command(host: str, port: int) -> list[str]:
    """`streamlit run` headless: no browser, no usage statistics, no tracebacks in the page,
    no watching of config files (`ui.serve`)."""
    return [
        sys.executable, "-m", "ui.serve", "run", str(APP),
        "--server.headless", "true",
        "--server.address", host,
        "--server.port", str(port),
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--client.showErrorDetails", "none",
        "--client.toolbarMode", "minimal",
        "--logger.level", "warning",
        "--theme.base", "light",
    ]  # fmt: skip


def environment(
    settings: Settings | None = None, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The app's environment: `base` (default: this process's), where the BFF is (unless
    set already), and a writable HOME."""
    env = dict(os.environ if base is None else base)
    if settings is not None:
        env.setdefault("GATEWAY_BFF_URL", settings.service_url("gateway-bff"))
    if not os.access(env.get("HOME", "/nonexistent"), os.W_OK):
        env["HOME"] = "/tmp"  # a read-only container: Streamlit keeps its few files there
    return env


@dataclass
class UiProcess:
    """The Streamlit app as a child of `agentshop up`: restarted if it dies, stopped on exit."""

    settings: Settings
    host: str = "127.0.0.1"
    # the run's variables (`Infrastructure.environment`); None: this process's
    environment: Mapping[str, str] | None = None
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    _stopping: bool = field(default=False, repr=False)

    @property
    def port(self) -> int:
        return ui_port(self.settings)

    @property
    def url(self) -> str:
        shown = "localhost" if self.host in ("127.0.0.1", "0.0.0.0") else self.host
        return f"http://{shown}:{self.port}"

    def start(self) -> None:
        if self.process is None and not port_is_free(self.port, self.host):
            raise RuntimeError(f"port already in use: web UI ({self.port})")
        self.process = subprocess.Popen(
            command(self.host, self.port),
            env=environment(self.settings, self.environment),
            stdout=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            # Its own session: a terminal's Ctrl-C reaches `up`, which stops the app in
            # order; and the app ends with its parent even if the parent is killed.
            start_new_session=True,
            preexec_fn=_end_with_parent if sys.platform == "linux" else None,
        )
        log.info("ui.started", pid=self.process.pid, port=self.port)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, within: float = 60.0) -> bool:
        """Wait until Streamlit answers its health check (or the child died)."""
        url = f"http://127.0.0.1:{self.port}{HEALTH_PATH}"
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and self.running:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        return False

    async def until_ready(self, within: float = 60.0) -> bool:
        """`wait_ready` for an event loop: cancellable at any moment (Ctrl-C during start-up)."""
        url = f"http://127.0.0.1:{self.port}{HEALTH_PATH}"
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline and self.running:
                try:
                    if (await http.get(url)).status_code == 200:
                        return True
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        return False

    async def supervise(self, every: float = 1.0, max_restarts: int = 20) -> None:
        """Restart the app if it exits on its own (up to `max_restarts` times), until cancelled."""
        while True:
            await asyncio.sleep(every * min(2**self.restarts, 30))
            if not self._stopping and self.process is not None and not self.running:
                if self.restarts >= max_restarts:
                    log.error("ui.gave_up", restarts=self.restarts)
                    return
                log.error("ui.died", returncode=self.process.returncode, action="restarting")
                self.restarts += 1
                self.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping = True
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)
        log.info("ui.stopped")

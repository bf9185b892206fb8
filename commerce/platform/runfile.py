"""The run file: where a running `agentshop up` can be found by the operator commands.

`agentshop up` writes `<data dir>/run.json` once its services answer (the URLs of each
service and of the web UI, the database and broker addresses, its process id) and removes
it on exit. `check-invariants`, `dlq`, `migrate`, `seed`, `topics` and `chat` read it when
no `DATABASE_URL`/`KAFKA_BOOTSTRAP_SERVERS` is configured. A file left by a process that
died is ignored (its pid no longer runs).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from commerce.platform.settings import Settings

FILE_NAME = "run.json"


@dataclass(frozen=True, slots=True)
class RunInfo:
    pid: int
    port_offset: int
    database_url: str | None
    kafka_bootstrap_servers: str | None
    urls: dict[str, str] = field(default_factory=dict)


def path(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def write(data_dir: Path, info: RunInfo) -> Path:
    """Write the run file atomically (owner-readable only: it names the database)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    target = path(data_dir)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(info), indent=2))
    tmp.chmod(0o600)
    tmp.replace(target)
    return target


def remove(data_dir: Path, pid: int | None = None) -> None:
    """Remove the run file (only this process's own when `pid` is given)."""
    target = path(data_dir)
    if pid is not None:
        found = read(data_dir, check_alive=False)
        if found is not None and found.pid != pid:
            return
    target.unlink(missing_ok=True)


def read(data_dir: Path, check_alive: bool = True) -> RunInfo | None:
    """The running `agentshop up` of this data dir, or None."""
    try:
        raw = json.loads(path(data_dir).read_text())
        info = RunInfo(
            pid=int(raw["pid"]),
            port_offset=int(raw.get("port_offset", 0)),
            database_url=raw.get("database_url"),
            kafka_bootstrap_servers=raw.get("kafka_bootstrap_servers"),
            urls={str(k): str(v) for k, v in (raw.get("urls") or {}).items()},
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if check_alive and not _alive(info.pid):
        return None
    return info


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def discover(settings: Settings) -> Settings:
    """`settings` completed from a running `agentshop up` of the same data dir.

    What is configured wins: only an unset database, broker or port offset is taken from
    the run file.
    """
    if not (settings.embedded_postgres or settings.embedded_kafka):
        return settings
    info = read(settings.data_dir)
    if info is None:
        return settings
    update: dict[str, object] = {}
    if settings.embedded_postgres and info.database_url:
        update["database_url"] = info.database_url
    if settings.embedded_kafka and info.kafka_bootstrap_servers:
        update["kafka_bootstrap_servers"] = info.kafka_bootstrap_servers
    if "AGENTSHOP_PORT_OFFSET" not in os.environ:
        update["port_offset"] = info.port_offset
    return settings.model_copy(update=update)


def service_url(name: str) -> str:
    """Where service `name` answers, read without building the settings (which import
    pydantic-settings and SQLAlchemy: seconds on a busy machine), for `agentshop chat`:
    `<SERVICE>_URL`, else the running `agentshop up` of `AGENTSHOP_DATA_DIR`, else loopback
    on its port plus `AGENTSHOP_PORT_OFFSET`."""
    from commerce.services import SERVICES

    spec = SERVICES[name]
    own = os.environ.get(f"{spec.env_prefix}URL")
    if own:
        return own.rstrip("/")
    info = read(Path(os.environ.get("AGENTSHOP_DATA_DIR") or ".agentshop"))
    if info is not None and name in info.urls:
        return info.urls[name]
    offset = int(os.environ.get("AGENTSHOP_PORT_OFFSET") or 0)
    return f"http://127.0.0.1:{spec.port + offset}"

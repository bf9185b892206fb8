"""Which address `EmbeddedPostgres.url` gives (docs/adr/0050): the server's Unix socket
while it exists and its path fits the kernel's limit, else loopback TCP."""

from __future__ import annotations

from pathlib import Path

from commerce.platform.embedded import SOCKET_PATH_MAX, EmbeddedPostgres


def _with_socket(data_dir: Path, port: int = 5544) -> EmbeddedPostgres:
    (data_dir / "run").mkdir(parents=True)
    (data_dir / "run" / f".s.PGSQL.{port}").touch()
    return EmbeddedPostgres(data_dir, port=port)


def test_the_socket_when_the_server_made_one(tmp_path: Path) -> None:
    postgres = _with_socket(tmp_path / "pg")
    assert postgres.url == f"postgresql://postgres@/postgres?host={tmp_path}/pg/run&port=5544"


def test_tcp_without_a_socket_or_a_port(tmp_path: Path) -> None:
    assert (
        EmbeddedPostgres(tmp_path, port=5544).url == "postgresql://postgres@127.0.0.1:5544/postgres"
    )
    assert EmbeddedPostgres(tmp_path).url == EmbeddedPostgres(tmp_path).tcp_url


def test_tcp_when_the_sockets_path_is_too_long_in_bytes(tmp_path: Path) -> None:
    # "é" is two bytes: a path short enough in characters is still too long for the kernel
    room = SOCKET_PATH_MAX - len(str(tmp_path / "run" / ".s.PGSQL.5544").encode()) - 1
    postgres = _with_socket(tmp_path / ("é" * (room // 2 + 1)))
    assert len(str(postgres.data_dir / "run" / ".s.PGSQL.5544")) <= SOCKET_PATH_MAX
    assert postgres.url == postgres.tcp_url

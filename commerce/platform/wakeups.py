"""Wake-ups between the outbox relays and the consumers of one process, and its siblings.

With the embedded broker a consumer must fetch with a wait of a few milliseconds
(docs/adr/0002), so an idle consumer would poll the broker hundreds of times a second.
Instead an idle consumer pauses its partitions and fetches only when a relay in this
process has just published to one of its topics, or when its idle interval has passed
(for records published elsewhere). See docs/adr/0013.

`agentshop up` over several processes (docs/adr/0031) makes the processes siblings: each
binds a Unix datagram socket, and a relay's publish also sends the topics' names to every
sibling, where they wake the consumers as a local publish does. A sibling whose queue is
full (Linux queues 10 datagrams by default, `net.unix.max_dgram_qlen`; a busy sibling
reads them only when its loop comes round) gets the topics, merged, a few milliseconds
later, until it takes them: a wake-up dropped there would cost a consumer its whole idle
interval. A sibling not listening (restarting) is skipped; its consumers fetch on start.

A publish names the partitions it went to (the broker's acknowledgement says which), so a
woken consumer fetches those partitions only: the others of its topics stay paused, with
no fetch sent for them (docs/adr/0013). A wake-up that names a topic alone (the broker
watch, an older sibling) wakes all of its partitions. It also tells where each partition
ends now (the offset after the last record acknowledged there): a consumer holds a
partition caught up only once it has taken that far, since a fetch right after the
acknowledgement may not show the record yet (docs/adr/0043).

A consumer may say which message types it wants (`register`'s `wants`): a publish of
records none of which it wants does not wake it (a saga's replies on a topic four consumer
groups read wake the orchestrator alone). Their offsets are passed over later, in one
batch, when a record it wants comes to the partition or its idle interval finds the
partition behind (docs/adr/0030). A sibling's wake-up carries the types too, so a publish
in one process wakes only the consumers that want it in the others (docs/adr/0048); one
without types (a topic alone, an older sibling) wakes all.

The same sockets carry changes a sibling committed that requests here may wait for
(`changed`, `on_change`): a saga moved by a replica's orchestrator wakes the requests
waiting for it in the process that serves them (docs/adr/0038).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeAlias

import structlog

log = structlog.get_logger(__name__)

SIBLINGS_ENV = "AGENTSHOP_WAKE_SOCKETS"
"""Sibling processes' wake-up sockets, separated by `os.pathsep`; this process's own is
the one at index `AGENTSHOP_WAKE_INDEX` (`Settings.wake_sockets`, `.wake_index`)."""
INDEX_ENV = "AGENTSHOP_WAKE_INDEX"

ALL_PARTITIONS = -1
"""The partition of a wake-up that names a topic alone: every partition of it."""

Target: TypeAlias = str | tuple[str, int]
"""What a publish went to: a topic, or (topic, partition)."""

_CHANGE = "!"  # a datagram line "!<channel> <key>" is a change, not a publish

_waiting: dict[str, set[asyncio.Event]] = {}
_on_change: dict[str, list[Callable[[str], None]]] = {}
_sinks: dict[asyncio.Event, set[tuple[str, int]]] = {}
Wants: TypeAlias = Callable[[str, str], bool]
"""Whether a consumer wants records of a message type in a topic: (topic, type) -> bool."""
_wants: dict[asyncio.Event, Wants] = {}
_ends: dict[tuple[str, int], int] = {}  # (topic, partition) -> offset after the last known
_siblings: list[str] = []
_socket: socket.socket | None = None
_owed: dict[str, set[str]] = {}  # wake-ups a sibling's full queue refused, sent again soon
_RETRY_SECONDS = 0.005
_retry: asyncio.TimerHandle | None = None


def register(
    topics: Iterable[str],
    event: asyncio.Event,
    partitions: set[tuple[str, int]] | None = None,
    wants: Wants | None = None,
) -> None:
    """Set `event` whenever something in this process publishes to one of `topics`; with
    `partitions`, also add there each (topic, partition) published to (`ALL_PARTITIONS`
    when a wake-up named the topic alone). The consumer takes them out as it wakes. With
    `wants`, a publish whose types are known and all unwanted does not set it."""
    for topic in topics:
        _waiting.setdefault(topic, set()).add(event)
    if partitions is not None:
        _sinks[event] = partitions
    if wants is not None:
        _wants[event] = wants


def unregister(topics: Iterable[str], event: asyncio.Event) -> None:
    for topic in topics:
        events = _waiting.get(topic)
        if events is not None:
            events.discard(event)
            if not events:
                del _waiting[topic]
    if not any(event in events for events in _waiting.values()):
        _sinks.pop(event, None)
        _wants.pop(event, None)


def published(
    targets: Iterable[Target],
    ends: Mapping[tuple[str, int], int] | None = None,
    types: Mapping[tuple[str, int], Iterable[str | None]] | None = None,
) -> None:
    """Records were just published (and acknowledged) to `targets` (topics, or (topic,
    partition) pairs): wake the consumers of this process and tell the sibling processes.
    `ends` gives, per (topic, partition), the offset after the last record acknowledged;
    `types`, the message types of the records published there (None: not known)."""
    named = {(t, ALL_PARTITIONS) if isinstance(t, str) else t for t in targets}
    ends = ends or {}
    _learn(ends.items())
    _wake(named, types)
    if _socket is not None and named:
        kinds = types or {}
        lines = {
            _line(topic, partition, ends.get((topic, partition)), kinds.get((topic, partition)))
            for topic, partition in named
        }
        for path in _siblings:
            _send(path, lines)


def end(topic: str, partition: int) -> int:
    """The offset after the last record this process or a sibling saw acknowledged in
    the partition since the broker started (0 when none was)."""
    return _ends.get((topic, partition), 0)


def forget_ends() -> None:
    """The broker restarted empty: the offsets known of its predecessor mean nothing."""
    _ends.clear()


def _learn(ends: Iterable[tuple[tuple[str, int], int]]) -> None:
    for key, offset in ends:
        if offset > _ends.get(key, 0):
            _ends[key] = offset


def on_change(channel: str, callback: Callable[[str], None]) -> None:
    """Call `callback(key)` for each change a sibling process reports on `channel`."""
    _on_change.setdefault(channel, []).append(callback)


def off_change(channel: str, callback: Callable[[str], None]) -> None:
    callbacks = _on_change.get(channel, [])
    if callback in callbacks:
        callbacks.remove(callback)


def changed(channel: str, keys: Iterable[str]) -> None:
    """Tell the sibling processes that `keys` changed on `channel` (after the commit);
    the change's own process wakes its waiters itself."""
    if _socket is None:
        return
    lines = {f"{_CHANGE}{channel} {key}" for key in keys}
    if lines:
        for path in _siblings:
            _send(path, lines)


def _line(
    topic: str, partition: int, end: int | None = None, kinds: Iterable[str | None] | None = None
) -> str:
    """A datagram's line: "topic[ partition[ end[ type,type...]]]" (types only when every
    one is known)."""
    if partition == ALL_PARTITIONS:
        return topic
    if end is None:
        return f"{topic} {partition}"
    known = None if kinds is None else set(kinds)
    if not known or None in known:
        return f"{topic} {partition} {end}"
    return f"{topic} {partition} {end} {','.join(sorted(k for k in known if k))}"


def _parse(line: str) -> tuple[str, int, int | None, set[str | None] | None]:
    """(topic, partition, end, types) of a line "topic[ partition[ end[ types]]]"."""
    topic, partition, end, kinds, *_ = [*line.split(" "), "", "", ""]
    if not partition.isdigit():
        return topic, ALL_PARTITIONS, None, None
    return (
        topic,
        int(partition),
        int(end) if end.isdigit() else None,
        set(kinds.split(",")) if kinds else None,
    )


def _send(path: str, lines: set[str]) -> None:
    assert _socket is not None
    owed = _owed.pop(path, set()) | lines
    try:
        _socket.sendto("\n".join(sorted(owed)).encode(), path)
    except BlockingIOError:  # its queue is full: merged with what comes next, sent soon
        global _retry
        _owed[path] = owed
        if _retry is None:
            _retry = asyncio.get_running_loop().call_later(_RETRY_SECONDS, _send_owed)
    except OSError:  # not listening (starting again): it fetches on start anyway
        pass


def _send_owed() -> None:
    global _retry
    _retry = None
    if _socket is None:
        _owed.clear()
        return
    for path, lines in list(_owed.items()):
        _owed.pop(path, None)
        _send(path, lines)


def _wake(
    targets: Iterable[tuple[str, int]],
    types: Mapping[tuple[str, int], Iterable[str | None]] | None = None,
) -> None:
    for topic, partition in targets:
        kinds = (types or {}).get((topic, partition))
        for event in _waiting.get(topic, ()):
            wants = _wants.get(event)
            if (
                wants is not None
                and kinds is not None
                and not any(t is None or wants(topic, t) for t in kinds)
            ):
                continue
            sink = _sinks.get(event)
            if sink is not None:
                sink.add((topic, partition))
            event.set()


def join_siblings(
    sockets: Sequence[str], index: int, loop: asyncio.AbstractEventLoop | None = None
) -> bool:
    """Listen for the siblings' publishes and tell them ours, when `up` made this process
    one of several: `sockets` are every sibling's, this one's is at `index` (the settings'
    `wake_sockets` and `wake_index`). False when there are none, or it joined already."""
    global _socket, _siblings
    paths = [p for p in sockets if p]
    if not paths or _socket is not None:
        return False
    own = paths[index]
    with contextlib.suppress(FileNotFoundError):
        os.unlink(own)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(own)
    sock.setblocking(False)
    (loop or asyncio.get_running_loop()).add_reader(sock.fileno(), _received, sock)
    _socket, _siblings = sock, [p for p in paths if p != own]
    log.debug("wakeups.joined", own=own, siblings=len(_siblings))
    return True


def leave_siblings(loop: asyncio.AbstractEventLoop | None = None) -> None:
    global _socket, _siblings
    if _socket is None:
        return
    with contextlib.suppress(RuntimeError, ValueError):
        (loop or asyncio.get_running_loop()).remove_reader(_socket.fileno())
    own = _socket.getsockname()
    _socket.close()
    _socket, _siblings = None, []
    _owed.clear()
    global _retry
    if _retry is not None:
        _retry.cancel()
        _retry = None
    if isinstance(own, str) and own:
        with contextlib.suppress(OSError):
            os.unlink(own)


def _received(sock: socket.socket) -> None:
    while True:
        try:
            payload = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return
        lines = payload.decode(errors="replace").split("\n")
        found = [_parse(line) for line in lines if line and not line.startswith(_CHANGE)]
        _learn(((topic, partition), end) for topic, partition, end, _ in found if end is not None)
        # a partition's types, merged over its lines; a line without them: not known (None)
        types: dict[tuple[str, int], set[str | None]] = {}
        for topic, partition, _, kinds in found:
            types.setdefault((topic, partition), set()).update(kinds or {None})
        _wake(types, types)
        for line in lines:
            if line.startswith(_CHANGE):
                channel, _, key = line[len(_CHANGE) :].partition(" ")
                for callback in list(_on_change.get(channel, ())):
                    try:
                        callback(key)
                    except Exception:  # a malformed key must not stop the others
                        log.warning("wakeups.change_failed", channel=channel, key=key)

"""Which services share a process when `agentshop up` runs over several (docs/adr/0031).

Services of one process call each other in-process (docs/adr/0015) and wake each other's
consumers without the broker's help (docs/adr/0013); across processes a call goes over
loopback HTTP and a wake-up over a datagram. So the services that call each other on
the hot paths start together, in clusters, and the clusters are merged (fewer
processes) or split (more) to make the number asked for.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

CLUSTERS: tuple[tuple[str, ...], ...] = (
    # every HTTP call of a shopper's requests stays in this one: the BFF reads SKUs from
    # catalog (which asks inventory for stock), writes the cart, quotes through tax and
    # discount, and polls the checkout's state from the orchestrator, which prices over
    # HTTP too (measured against splitting the saga off: docs/adr/0031)
    (
        "gateway-bff", "catalog", "inventory", "cart",
        "checkout-orchestrator", "tax-calculation", "discount-engine",
    ),
    # saga steps reached only by messages
    ("payment-gateway", "order"),
    # after the order: refunds and notifications
    ("refund", "email-service", "sms-service", "push-service"),
)  # fmt: skip


REPLICATED: tuple[str, ...] = (
    "checkout-orchestrator", "inventory", "payment-gateway", "order",
)  # fmt: skip
"""The saga's hot consumers: `agentshop up --replicas N` runs them in N - 1 more processes,
in the same consumer groups (docs/adr/0031)."""

CALLS: dict[str, tuple[str, ...]] = {
    # the orchestrator prices a new checkout through these before its transaction
    "checkout-orchestrator": ("discount-engine", "tax-calculation"),
}
"""What a replicated consumer calls over HTTP: a replica serves these to itself, in-process."""


def replicated(names: Sequence[str]) -> list[str]:
    """The services among `names` a replica runs the consumers of, in `names`' order."""
    return [name for name in dict.fromkeys(names) if name in REPLICATED]


def called_by(consumers: Sequence[str], names: Sequence[str]) -> list[str]:
    """The services among `names` (not among `consumers`) that `consumers` call."""
    wanted = {called for name in consumers for called in CALLS.get(name, ())}
    return [name for name in dict.fromkeys(names) if name in wanted and name not in consumers]


def _clusters(names: Sequence[str]) -> list[list[str]]:
    """`names` (once each, in their order) in their clusters; a service of no cluster alone."""
    clustered = {name for cluster in CLUSTERS for name in cluster}
    groups = [[n for n in names if n in cluster] for cluster in CLUSTERS]
    return [g for g in groups if g] + [[n] for n in names if n not in clustered]


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def default_processes(names: Sequence[str], cores: int | None = None) -> int:
    """How many processes `agentshop up` runs `names` over unless told (docs/adr/0047): one
    per usable core, but no more than the clusters `names` fall in, since splitting a
    cluster puts calls of the hot paths on loopback HTTP, which costs more CPU than the
    extra core gives back."""
    return max(1, min(cores or usable_cores(), len(_clusters(list(dict.fromkeys(names))))))


def place(names: Sequence[str], processes: int) -> list[list[str]]:
    """Split `names` into at most `processes` non-empty groups, each kept in `names`' order.

    Clusters stay whole while there are fewer processes than clusters (the two smallest
    groups are merged, repeatedly); with more processes the largest group is halved,
    repeatedly, down to one service per process.
    """
    if processes < 1:
        raise ValueError("processes must be at least 1")
    chosen = list(dict.fromkeys(names))
    groups = _clusters(chosen)
    while len(groups) > processes:
        groups.sort(key=len)
        smallest, next_smallest = groups[0], groups[1]
        groups = [smallest + next_smallest, *groups[2:]]
    while len(groups) < processes:
        largest = max(groups, key=len)
        if len(largest) < 2:
            break
        half = (len(largest) + 1) // 2
        index = groups.index(largest)
        groups[index : index + 1] = [largest[:half], largest[half:]]
    order = {name: i for i, name in enumerate(chosen)}
    groups = [sorted(g, key=order.__getitem__) for g in groups]
    return sorted(groups, key=lambda g: order[g[0]])


def parse_groups(text: str, known: Sequence[str]) -> list[list[str]]:
    """`a,b;c,d` → [[a, b], [c, d]]: an explicit placement; every name once, all known."""
    groups = [[n.strip() for n in part.split(",") if n.strip()] for part in text.split(";")]
    groups = [g for g in groups if g]
    named = [n for g in groups for n in g]
    unknown = sorted(set(named) - set(known))
    if unknown:
        raise ValueError(f"unknown services in the placement: {', '.join(unknown)}")
    twice = sorted({n for n in named if named.count(n) > 1})
    if twice:
        raise ValueError(f"placed more than once: {', '.join(twice)}")
    missing = [n for n in known if n not in named]
    if missing:
        raise ValueError(f"not placed: {', '.join(missing)}")
    return groups

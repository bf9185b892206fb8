"""Money rules shared by the services and their clients: integer cents only."""

from __future__ import annotations


def allocate(total: int, weights: dict[str, int]) -> dict[str, int]:
    """Split `total` cents over keys in proportion to `weights` by the largest-remainder
    method: the parts add up exactly to min(total, sum of weights), and no key gets more
    than its weight (weights are amounts, e.g. what is left of each line)."""
    whole = sum(weights.values())
    if total <= 0 or whole <= 0:
        return dict.fromkeys(weights, 0)
    total = min(total, whole)
    shares = {k: total * w // whole for k, w in weights.items()}
    remainders = sorted(weights, key=lambda k: (-(total * weights[k] % whole), k))
    for key in remainders[: total - sum(shares.values())]:
        shares[key] += 1
    return shares

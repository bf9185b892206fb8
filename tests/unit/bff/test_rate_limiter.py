"""The BFF's per-user token bucket: its answers, and its memory bound."""

from bff.auth import RateLimiter


def test_a_burst_then_the_wait_until_one_token_is_back() -> None:
    limiter = RateLimiter()
    assert [limiter.take("ann", 3) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("ann", 3)
    assert 19.0 < wait <= 20.0  # one token comes back every 60 / 3 seconds
    assert limiter.take("bob", 3) == 0.0  # another person has a bucket of their own


def test_buckets_are_bounded() -> None:
    limiter = RateLimiter(max_keys=2)
    for user in ("ann", "bob", "cid", "dan"):
        limiter.take(user, 3)
    assert len(limiter._buckets) == 2
    assert set(limiter._buckets) == {"cid", "dan"}  # the least recently used went first

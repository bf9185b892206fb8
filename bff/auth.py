"""Sign-in and bearer tokens: passwords hashed with Argon2, tokens are HS256 JWTs."""

from __future__ import annotations

import functools
import math
import secrets
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
from cachetools import TTLCache
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pwdlib import PasswordHash

from bff.errors import ApiError
from commerce.platform.service import ServiceRuntime, Slot, get_runtime

TOKEN_MINUTES = 60
hasher = PasswordHash.recommended()
bearer = HTTPBearer(auto_error=False)


def issue_token(runtime: ServiceRuntime, user_id: str) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": user_id,
        "iat": now,
        "exp": now + timedelta(minutes=TOKEN_MINUTES),
        "iss": "agentshop",
    }
    return jwt.encode(claims, runtime.settings.jwt_secret.get_secret_value(), algorithm="HS256")


# Tokens verified in the last minute: their person and when they expire. Checking a
# signature is most of the cost of an authenticated request's framework, and a shopper's
# requests bring the same token each time; a token is still refused once it expires.
VERIFIED: Slot[TTLCache[str, tuple[str, float]]] = Slot(
    lambda _runtime: TTLCache(maxsize=10_000, ttl=60)
)


def _verified(runtime: ServiceRuntime, token: str) -> str:
    """The person a valid token names (`ApiError` 401 otherwise)."""
    known = VERIFIED.of(runtime)
    found = known.get(token)
    if found is not None and time.time() < found[1]:
        return found[0]
    try:
        claims = jwt.decode(
            token, runtime.settings.jwt_secret.get_secret_value(), algorithms=["HS256"],
            issuer="agentshop", options={"require": ["exp", "sub"]},
        )  # fmt: skip
    except jwt.PyJWTError as exc:
        raise ApiError(
            401, "invalid_token", f"The token is not valid: {exc}.", error_type="authentication"
        ) from exc
    known[token] = (str(claims["sub"]), float(claims["exp"]))
    return str(claims["sub"])


async def current_user(  # async: a plain def would run in the thread pool
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    if credentials is None:
        raise ApiError(
            401,
            "unauthorized",
            "Sign in first: send Authorization: Bearer <token>.",
            error_type="authentication",
        )
    return _verified(get_runtime(request), credentials.credentials)


class RateLimiter:
    """A token bucket per user: `per_minute` requests a minute, bursts up to the same.

    Kept in this process's memory, so each BFF replica limits on its own, and bounded: a
    `cachetools.TTLCache` of at most `max_keys` buckets, each dropped after a minute
    unused (by then it has refilled, so forgetting it changes no answer); past `max_keys`
    users within a minute the least recently used bucket goes first. The `limits` package
    offers fixed and moving windows, not a bucket: it would change when a burst's next
    request is allowed and the `Retry-After` sent.
    """

    def __init__(self, max_keys: int = 100_000) -> None:
        self._buckets: TTLCache[str, tuple[float, float]] = TTLCache(
            maxsize=max_keys, ttl=REFILL_SECONDS, timer=time.monotonic
        )

    def take(self, user_id: str, per_minute: int) -> float:
        """0 when allowed, else the seconds to wait before the next request is."""
        now = time.monotonic()
        tokens, last = self._buckets.get(user_id, (float(per_minute), now))
        tokens = min(float(per_minute), tokens + (now - last) * per_minute / REFILL_SECONDS)
        if tokens < 1:
            self._buckets[user_id] = (tokens, now)
            return (1 - tokens) * REFILL_SECONDS / per_minute
        self._buckets[user_id] = (tokens - 1, now)
        return 0.0


REFILL_SECONDS = 60.0  # an empty bucket is full again after a minute, whatever its size


# one per BFF runtime (its process's people)
LIMITER = Slot(lambda runtime: RateLimiter())


class FailureCounter:
    """Failed sign-ins per key (an account, a client address) in a fixed window.

    In this process's memory and bounded: at most `max_keys` keys, the least recently
    seen forgotten first (an attacker spraying addresses only pushes out other strangers'
    counts, never lets one key sign in more often than its limit while it is kept).
    A dependency-free counter rather than the `limits` package: its memory storage keeps
    every key until its window ends, with no bound, and sweeps expiries in a thread.
    """

    def __init__(self, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._counts: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def blocked_for(self, key: str, limit: int, window: float) -> float:
        """Seconds until `key` may try again (0: it may now)."""
        found = self._counts.get(key)
        if found is None:
            return 0.0
        count, since = found
        left = since + window - time.monotonic()
        if left <= 0:
            del self._counts[key]
            return 0.0
        return left if count >= limit else 0.0

    def failed(self, key: str, window: float) -> None:
        now = time.monotonic()
        count, since = self._counts.pop(key, (0, now))
        if since + window <= now:
            count, since = 0, now
        self._counts[key] = (count + 1, since)
        while len(self._counts) > self.max_keys:
            self._counts.popitem(last=False)

    def forget(self, key: str) -> None:
        self._counts.pop(key, None)

    def reset(self) -> None:
        self._counts.clear()


SIGNIN_FAILURES = Slot(lambda runtime: FailureCounter())


def signin_throttled(runtime: ServiceRuntime, account: str, address: str) -> ApiError | None:
    """429 when the account or the client address failed too often in the window."""
    s = runtime.settings
    window = s.signin_window_seconds
    signin_failures = SIGNIN_FAILURES.of(runtime)
    wait = max(
        signin_failures.blocked_for(f"account:{account}", s.signin_failures_per_account, window),
        signin_failures.blocked_for(f"address:{address}", s.signin_failures_per_address, window),
    )
    if not wait:
        return None
    return ApiError(
        429, "too_many_attempts", f"Too many failed sign-ins; try again in {math.ceil(wait)} s.",
        error_type="rate_limit", headers={"Retry-After": str(math.ceil(wait))},
    )  # fmt: skip


def signin_failed(runtime: ServiceRuntime, account: str, address: str) -> None:
    window = runtime.settings.signin_window_seconds
    signin_failures = SIGNIN_FAILURES.of(runtime)
    signin_failures.failed(f"account:{account}", window)
    signin_failures.failed(f"address:{address}", window)


def signin_succeeded(runtime: ServiceRuntime, account: str) -> None:
    SIGNIN_FAILURES.of(runtime).forget(f"account:{account}")


@functools.cache
def dummy_hash() -> str:
    """A hash of no one's password: an unknown account is verified against it, so it takes
    as long as a known one and the answer's timing does not tell which e-mails exist."""
    return hasher.hash(secrets.token_urlsafe(16))


def verify_password(password: str, password_hash: str | None) -> bool:
    """Argon2 verification, as slow for an unknown account (no hash) as for a known one."""
    if password_hash is None:
        hasher.verify(password, dummy_hash())
        return False
    return bool(hasher.verify(password, password_hash))


async def limited_user(request: Request, user: Annotated[str, Depends(current_user)]) -> str:
    runtime = get_runtime(request)
    wait = LIMITER.of(runtime).take(user, runtime.settings.rate_limit_per_minute)
    if wait:
        raise ApiError(
            429, "rate_limited", f"Too many requests; try again in {math.ceil(wait)} s.",
            error_type="rate_limit", headers={"Retry-After": str(math.ceil(wait))},
        )  # fmt: skip
    return user


CurrentUser = Annotated[str, Depends(limited_user)]

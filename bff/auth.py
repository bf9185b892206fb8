"""Sign-in and bearer tokens: passwords hashed with Argon2, tokens are HS256 JWTs."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pwdlib import PasswordHash

from bff.errors import ApiError
from commerce.platform.service import ServiceRuntime, get_runtime

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
    runtime = get_runtime(request)
    try:
        claims = jwt.decode(
            credentials.credentials, runtime.settings.jwt_secret.get_secret_value(), algorithms=["HS256"],
            issuer="agentshop", options={"require": ["exp", "sub"]},
        )  # fmt: skip
    except jwt.PyJWTError as exc:
        raise ApiError(
            401, "invalid_token", f"The token is not valid: {exc}.", error_type="authentication"
        ) from exc
    return str(claims["sub"])


class RateLimiter:
    """A token bucket per user: `per_minute` requests a minute, bursts up to the same.

    Kept in this process's memory, so each BFF replica limits on its own.
    """

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, user_id: str, per_minute: int) -> float:
        """0 when allowed, else the seconds to wait before the next request is."""
        now = time.monotonic()
        tokens, last = self._buckets.get(user_id, (float(per_minute), now))
        tokens = min(float(per_minute), tokens + (now - last) * per_minute / 60)
        if tokens < 1:
            self._buckets[user_id] = (tokens, now)
            return (1 - tokens) * 60 / per_minute
        self._buckets[user_id] = (tokens - 1, now)
        return 0.0


limiter = RateLimiter()


async def limited_user(request: Request, user: Annotated[str, Depends(current_user)]) -> str:
    wait = limiter.take(user, get_runtime(request).settings.rate_limit_per_minute)
    if wait:
        raise ApiError(
            429, "rate_limited", f"Too many requests; try again in {math.ceil(wait)} s.",
            error_type="rate_limit", headers={"Retry-After": str(math.ceil(wait))},
        )  # fmt: skip
    return user


CurrentUser = Annotated[str, Depends(limited_user)]

"""Sign-in and bearer tokens: passwords hashed with Argon2, tokens are HS256 JWTs."""

from __future__ import annotations

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


def current_user(
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


CurrentUser = Annotated[str, Depends(current_user)]

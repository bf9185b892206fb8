"""Every BFF error reaches the person as a sentence, and the right kind of error."""

from __future__ import annotations

import httpx

from ui.client import BffError, BffUnavailable, SignedOut, _error_of


def error(status: int, code: str = "", message: str = "", **headers: str) -> BffError:
    body = {"error": {"type": "x", "code": code, "message": message, "param": None}}
    return _error_of(httpx.Response(status, json=body, headers=headers))


def test_wrong_password_and_expired_token_read_differently() -> None:
    wrong = error(401, "invalid_credentials", "Wrong email or password.")
    assert type(wrong) is BffError and wrong.message == "Wrong email or password."
    expired = error(401, "invalid_token", "token expired")
    assert isinstance(expired, SignedOut)
    assert expired.message == "Your session has ended; please sign in again."


def test_busy_and_away_services_say_so() -> None:
    limited = error(429, "rate_limited", "slow down", **{"retry-after": "7"})
    assert limited.message == "Too many requests; please wait 7 seconds and try again."
    away = error(
        503, "service_unavailable", "The order service is not answering; try again shortly."
    )
    assert isinstance(away, BffUnavailable)
    assert away.message == "The order service is not answering; try again shortly."
    broken = _error_of(httpx.Response(500, text="Internal Server Error"))
    assert isinstance(broken, BffUnavailable)
    assert broken.message == "The shop is not answering right now; please try again shortly."


def test_refusals_keep_their_reason_as_a_sentence() -> None:
    refused = error(409, "nothing_pending", "nothing awaits your confirmation")
    assert refused.message == "Nothing awaits your confirmation." and refused.status == 409
    assert error(404, "not_found", "order not found").message == "Order not found."
    assert _error_of(httpx.Response(404)).message == "That could not be found."

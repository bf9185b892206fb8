"""schemathesis hooks for the protocol's conformance run (loaded via SCHEMATHESIS_HOOKS).

- The protocol scopes an Idempotency-Key to one request: the same key with another body
  is refused (422 `idempotency_conflict`), as the document says. schemathesis takes the
  key from the document's example for many different bodies, so each request that
  carries a valid key gets a key of its own (numbered, so runs stay reproducible);
  invalid keys that negative cases generate are left as they are.
- API-Version is any string to the document; the server speaks one version, so a
  request that carries the header names it (a missing header is still sent missing).
- Strings with NUL are refused by every route of the shop (PostgreSQL cannot store
  them); a NUL is not what makes a case valid or invalid to the document, so it is
  sent as a space.
"""

from __future__ import annotations

import itertools
from typing import Any

import schemathesis

API_VERSION = "2026-04-17"
_numbers = itertools.count()


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", " ")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    headers = case.headers or {}
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and 1 <= len(key) <= 255:
        headers["Idempotency-Key"] = f"conformance-{next(_numbers)}"
    if isinstance(headers.get("API-Version"), str):
        headers["API-Version"] = API_VERSION
    case.headers = headers
    if isinstance(case.body, (dict, list, str)):
        case.body = _without_nul(case.body)

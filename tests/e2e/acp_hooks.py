"""schemathesis hooks for the protocol's conformance run (loaded via SCHEMATHESIS_HOOKS).

- The protocol scopes an Idempotency-Key to one request: the same key with another body
  is refused (422 `idempotency_conflict`), as the document says. schemathesis takes the
  key from the document's example for many different bodies, so each request that
  carries a valid key gets a key of its own (numbered, so runs stay reproducible);
  invalid keys that negative cases generate are left as they are.
- API-Version is any string to the document; the server speaks one version, so a
  request that carries the header names it (a missing header is still sent missing).
- Control characters are refused by every route of the shop before any route runs
  (commerce/platform/edges.py, ADR 22): C0 but tab, newline and carriage return, and DEL,
  in bodies and headers; any C0 or DEL in a path, also percent-encoded (`%1A`). A control
  character is not what makes a case valid or invalid to the document, so each is sent as
  a space.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import schemathesis

API_VERSION = "2026-04-17"
_numbers = itertools.count()


CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
PATH_CONTROL = re.compile(r"%(?:[01][0-9a-fA-F]|7[fF])|[\x00-\x1f\x7f]")  # any, in a path


def _without_control(value: Any) -> Any:
    if isinstance(value, str):
        return CONTROL.sub(" ", value)
    if isinstance(value, dict):
        return {_without_control(k): _without_control(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_control(v) for v in value]
    return value


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    headers = case.headers or {}
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and 1 <= len(key) <= 255:
        headers["Idempotency-Key"] = f"conformance-{next(_numbers)}"
    if isinstance(headers.get("API-Version"), str):
        headers["API-Version"] = API_VERSION
    case.headers = _without_control(headers)
    if isinstance(case.body, (dict, list, str)):
        case.body = _without_control(case.body)
    if isinstance(case.path_parameters, dict):
        case.path_parameters = {
            k: PATH_CONTROL.sub("%20", v) if isinstance(v, str) else v
            for k, v in case.path_parameters.items()
        }

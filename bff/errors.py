"""One error shape everywhere: {"error": {"type", "code", "message", "param"}}."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match


class ApiError(Exception):
    """An error answered in the one error shape, with its HTTP status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        error_type: str = "invalid_request",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.error_type = error_type
        self.headers = headers


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found", error_type="not_found")


ACP_TYPES = {"invalid_request", "processing_error", "service_unavailable"}


def _body(
    error_type: str, code: str, message: str, param: str | None, path: str = ""
) -> dict[str, Any]:
    """The error shape; the Agentic Commerce Protocol's routes use its flat Error object."""
    if path.startswith(("/checkout_sessions", "/agentic_commerce")):
        kind = (
            error_type
            if error_type in ACP_TYPES
            else ("service_unavailable" if error_type == "api_error" else "invalid_request")
        )
        flat: dict[str, Any] = {"type": kind, "code": code, "message": message}
        if param:
            flat["param"] = param if param.startswith("$") else f"$.{param}"
        return flat
    return {"error": {"type": error_type, "code": code, "message": message, "param": param}}


def validation_message(errors: Sequence[Any]) -> tuple[str | None, str]:
    """The field and the reason of the first problem pydantic found in a request."""
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
    param = ".".join(loc) or None
    return param, f"{param}: {first.get('msg')}" if param else str(first.get("msg"))


def error_response(path: str, status: int, code: str, message: str, error_type: str) -> Response:
    """The error shape for refusals made before a route runs (commerce.platform.edges)."""
    return JSONResponse(_body(error_type, code, message, None, path), status_code=status)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            _body(exc.error_type, exc.code, exc.message, exc.param, request.url.path),
            status_code=exc.status,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        param, message = validation_message(exc.errors())
        return JSONResponse(
            _body("invalid_request", "invalid_field", message, param, request.url.path),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)  # FastAPI's and the router's own (404)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method of the path, not only the first route's
            headers["Allow"] = ", ".join(allowed_methods(app, request))
        return JSONResponse(
            _body("invalid_request", code, str(exc.detail), None, request.url.path),
            status_code=exc.status_code,
            headers=headers,
        )


def allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """The methods the routes of this request's path answer (a path such as
    `/v1/cart/lines/{sku}` has one route per method; the router's 405 names only one)."""
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)

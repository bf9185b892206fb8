"""A small OpenAI-compatible chat-completions server on loopback that plays a script.

Each request to POST /v1/chat/completions takes the next scripted answer: a completion
body, raw text (e.g. malformed JSON), an HTTP error, or a delay longer than the client
waits. The requests it received are kept for assertions.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response


@dataclass
class Scripted:
    content: str | None = None
    tool_arguments: str | None = None
    refusal: str | None = None
    status: int = 200
    delay_seconds: float = 0.0


def answer_json(intent: dict[str, Any], notes: list[str] | None = None) -> Scripted:
    return Scripted(content=json.dumps({"intent": intent, "notes": notes or []}))


@dataclass
class ModelServer:
    base_url: str
    script: list[Scripted] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def play(self, *answers: Scripted) -> None:
        self.script[:] = list(answers)
        self.requests.clear()


def _completion(answer: Scripted) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": answer.content,
        "refusal": answer.refusal,
    }
    if answer.tool_arguments is not None:
        message["tool_calls"] = [
            {"id": "call_1", "type": "function",
             "function": {"name": "record_intent", "arguments": answer.tool_arguments}}
        ]  # fmt: skip
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": "scripted",
        "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
    }  # fmt: skip


@asynccontextmanager
async def model_server() -> AsyncIterator[ModelServer]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # connections wait in the backlog until the server accepts them
    port = sock.getsockname()[1]
    server_state = ModelServer(base_url=f"http://127.0.0.1:{port}/v1")
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> Response:
        server_state.requests.append(await request.json())
        if not server_state.script:
            return JSONResponse({"error": {"message": "script exhausted"}}, status_code=500)
        answer = server_state.script.pop(0)
        if answer.delay_seconds:
            await asyncio.sleep(answer.delay_seconds)
        if answer.status != 200:
            return JSONResponse(
                {"error": {"message": "scripted failure"}}, status_code=answer.status
            )
        return JSONResponse(_completion(answer))

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield server_state
    finally:
        server.should_exit = True
        await task
        sock.close()

"""An OpenAI-compatible backend scored side by side with the offline one, tokens counted.

The model is a small chat-completions server on loopback answering from a script (no
model runs on this machine); the backend under test is the assistant's own LLM parser.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request

from evals.backends import OfflineBackend, OpenAIBackend
from evals.dataset import Case, load_cases
from evals.report import build_document, markdown
from evals.runner import run

pytestmark = pytest.mark.integration

CHOSEN = ("single_item-001", "budget-001", "coupon-001", "order_status-001")
WRONG = "coupon-001"  # the scripted model drops the coupon on this one


def chosen() -> list[Case]:
    return [c for c in load_cases("all") if c.id in CHOSEN]


@asynccontextmanager
async def scripted_model(answers: dict[str, dict[str, Any]]) -> AsyncIterator[str]:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> dict[str, Any]:
        body = await request.json()
        text = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
        content = json.dumps({"intent": answers[text], "notes": []})
        return {
            "id": "chatcmpl-eval", "object": "chat.completion", "created": 0, "model": "scripted",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
        }  # fmt: skip

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # requests wait in the backlog until the server accepts them
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def test_backends_side_by_side_with_tokens_and_pass_hat_k() -> None:
    cases = chosen()
    answers = {}
    for case in cases:
        intent = case.expected.intent_dump()
        if case.id == WRONG:
            intent["coupon_code"] = None
        answers[case.texts()[-1]] = intent
    async with scripted_model(answers) as base_url:
        model = OpenAIBackend("scripted", base_url=base_url, api_key="test")
        llm = await run(cases, model, plans=True, repeat=2)
    offline = await run(cases, OfflineBackend(), plans=True)
    document = build_document(
        version="v1", split="all", plans=True, repeat=2,
        runs=[("offline", offline), (model.name, llm)],
    )  # fmt: skip
    by_name = {b["name"]: b["summary"] for b in document["backends"]}
    scored = by_name["openai:scripted"]
    assert scored["tokens"] == {"prompt": 100 * 2 * len(cases), "completion": 20 * 2 * len(cases)}
    assert scored["fallbacks"] == 0
    assert scored["overall"]["intent_accuracy"] == 1.0
    assert scored["overall"]["slot_recall"] < 1.0  # the dropped coupon
    failed = {r.id for r in llm if not r.passed}
    assert WRONG in failed
    assert scored["pass_hat_k"]["2"] == pytest.approx((len(cases) - len(failed)) / len(cases))
    assert by_name["offline"]["tokens"] == {"prompt": 0, "completion": 0}
    report = markdown(document)
    assert "## offline" in report and "## openai:scripted" in report

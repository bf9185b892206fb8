"""Parser backends the evals can score: the offline rules, or any OpenAI-compatible model.

Both read a message the way the assistant's graph does: while a purchase awaits approval,
the deterministic parser decides whether the message is a yes or a no (a model never
approves anything); every other message goes to the backend's parser.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Protocol

from assistant.intents import Confirm, Decline, ParsedMessage
from assistant.llm.offline import OfflineParser


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    fallback: bool = False  # the model's answer was unusable and the offline parser answered


class Parser(Protocol):
    name: str

    async def parse(
        self, text: str, *, awaiting_confirmation: bool = False
    ) -> tuple[ParsedMessage, Usage | None]: ...


class OfflineBackend:
    """The deterministic parser the assistant uses without a model."""

    name = "offline"

    def __init__(self) -> None:
        self._parser = OfflineParser()

    async def parse(
        self, text: str, *, awaiting_confirmation: bool = False
    ) -> tuple[ParsedMessage, Usage | None]:
        return self._parser.parse(text, awaiting_confirmation=awaiting_confirmation), None


class _Completions:
    """Passes chat completions through and adds up the tokens they report."""

    def __init__(self, inner: Any, usage: Usage) -> None:
        self._inner = inner
        self._usage = usage

    async def create(self, **kwargs: Any) -> Any:
        completion = await self._inner.create(**kwargs)
        if completion.usage is not None:
            self._usage.prompt_tokens += completion.usage.prompt_tokens
            self._usage.completion_tokens += completion.usage.completion_tokens
        return completion


class _Chat:
    def __init__(self, completions: _Completions) -> None:
        self.completions = completions


class _CountingClient:
    def __init__(self, client: Any, usage: Usage) -> None:
        self.chat = _Chat(_Completions(client.chat.completions, usage))


class OpenAIBackend:
    """The assistant's LLM parser (`assistant.llm.openai`) on any OpenAI-compatible endpoint."""

    def __init__(self, model: str, *, base_url: str | None = None, api_key: str | None = None):
        from openai import AsyncOpenAI

        from assistant.llm.openai import OpenAIParser

        self.name = f"openai:{model}"
        self._usage = Usage()
        timeout = float(os.environ.get("AGENTSHOP_LLM_TIMEOUT_SECONDS", "20"))
        client = AsyncOpenAI(
            base_url=base_url or os.environ.get("OPENAI_BASE_URL"),
            api_key=api_key or os.environ.get("OPENAI_API_KEY") or "not-needed",
            max_retries=0,
            timeout=timeout,
        )
        self._parser = OpenAIParser(
            _CountingClient(client, self._usage),  # type: ignore[arg-type]
            model,
            timeout_seconds=timeout,
        )
        self._answers = OfflineParser()

    async def parse(
        self, text: str, *, awaiting_confirmation: bool = False
    ) -> tuple[ParsedMessage, Usage | None]:
        if awaiting_confirmation:
            answer = self._answers.parse(text, awaiting_confirmation=True)
            if isinstance(answer.intent, Confirm | Decline):
                return answer, Usage()
        before = (self._usage.prompt_tokens, self._usage.completion_tokens)
        parsed = await self._parser.parse(text)
        return parsed, Usage(
            prompt_tokens=self._usage.prompt_tokens - before[0],
            completion_tokens=self._usage.completion_tokens - before[1],
            fallback=self._parser.last_source == "fallback",
        )


def make_backend(spec: str) -> Parser:
    """`offline` or `openai:<model>` (endpoint and key from OPENAI_BASE_URL / OPENAI_API_KEY)."""
    if spec == "offline":
        return OfflineBackend()
    if spec.startswith("openai:") and len(spec) > len("openai:"):
        return OpenAIBackend(spec.split(":", 1)[1])
    if spec == "openai" and os.environ.get("AGENTSHOP_LLM_MODEL"):
        return OpenAIBackend(os.environ["AGENTSHOP_LLM_MODEL"])
    raise ValueError(f"unknown backend {spec!r}: use offline or openai:<model>")

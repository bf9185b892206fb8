"""Parser backends behind one interface: the offline deterministic parser (the default)
and the OpenAI-compatible LLM parser (`assistant.llm.openai`)."""

from __future__ import annotations

from typing import Protocol

from assistant.intents import ParsedMessage


class Parser(Protocol):
    name: str

    async def parse(self, text: str) -> ParsedMessage: ...


class AsyncOffline:
    """The offline parser behind the async interface."""

    name = "offline"

    def __init__(self) -> None:
        from assistant.llm.offline import OfflineParser

        self._parser = OfflineParser()

    async def parse(self, text: str) -> ParsedMessage:
        return self._parser.parse(text)


def make_parser(
    *, model: str | None, base_url: str | None, api_key: str | None, timeout_seconds: float
) -> Parser:
    """The LLM parser when a model is configured, else the offline one."""
    if not model:
        return AsyncOffline()
    from assistant.llm.openai import OpenAIParser

    return OpenAIParser.from_settings(base_url, api_key, model, timeout_seconds)

"""Message base classes, the envelope carried on every Kafka record, and the type registry.

A message class declares its Kafka topic and version in its class statement:

    class ReserveInventory(Command, topic=Topic.INVENTORY_COMMAND): ...

Its `type` on the wire is the class name. Commands are imperative, events past tense.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

import orjson
from pydantic import BaseModel, ConfigDict, Field

from commerce.contracts.topics import Topic


class MessageError(ValueError):
    """A record that cannot be decoded into a known message (goes to the DLQ)."""


class Message(BaseModel):
    """Payload of a message: frozen, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    TYPE: ClassVar[str]
    VERSION: ClassVar[int]
    TOPIC: ClassVar[str]
    KIND: ClassVar[str] = "message"

    def __init_subclass__(
        cls, *, topic: Topic | str | None = None, version: int = 1, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        if topic is None:  # an abstract base such as Command or Event
            return
        cls.TYPE = cls.__name__
        cls.VERSION = version
        cls.TOPIC = str(topic)
        REGISTRY.register(cls)

    def partition_key(self) -> str | None:
        """The aggregate id that orders this message; None means the correlation id."""
        return None


class Command(Message):
    KIND = "command"


class Event(Message):
    KIND = "event"


class Registry:
    """Maps (type, version) on the wire to the pydantic model that validates it."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, int], type[Message]] = {}

    def register(self, model: type[Message]) -> None:
        key = (model.TYPE, model.VERSION)
        existing = self._by_key.get(key)
        if existing is not None and existing is not model:
            raise TypeError(f"message type {key} registered twice")
        self._by_key[key] = model

    def get(self, type_name: str, version: int) -> type[Message]:
        try:
            return self._by_key[(type_name, version)]
        except KeyError:
            raise MessageError(f"unknown message type {type_name!r} version {version}") from None

    def all(self) -> list[type[Message]]:
        return sorted(self._by_key.values(), key=lambda m: (m.TOPIC, m.TYPE, m.VERSION))

    def contracts(self) -> list[type[Message]]:
        """The system's own messages (those declared in `commerce.contracts`)."""
        return [m for m in self.all() if m.__module__.startswith("commerce.contracts.")]

    def for_topic(self, topic: Topic | str) -> list[type[Message]]:
        return [m for m in self.contracts() if topic == m.TOPIC]


REGISTRY = Registry()


def _now() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    """What travels on Kafka: identity, tracing ids, and the typed payload as JSON."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    version: int = Field(ge=1)
    correlation_id: str | None = None
    causation_id: uuid.UUID | None = None
    occurred_at: datetime = Field(default_factory=_now)
    payload: dict[str, Any]

    @classmethod
    def wrap(
        cls,
        message: Message,
        *,
        correlation_id: str | None = None,
        causation_id: uuid.UUID | None = None,
        message_id: uuid.UUID | None = None,
    ) -> Self:
        return cls(
            message_id=message_id or uuid.uuid4(),
            type=message.TYPE,
            version=message.VERSION,
            correlation_id=correlation_id,
            causation_id=causation_id,
            payload=message.model_dump(mode="json"),
        )

    def open(self) -> Message:
        """Validate the payload against its registered model."""
        model = REGISTRY.get(self.type, self.version)
        try:
            return model.model_validate(self.payload)
        except ValueError as exc:
            raise MessageError(f"invalid {self.type} payload: {exc}") from exc

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> Self:
        if raw is None:
            raise MessageError("record has no value")
        try:
            return cls.model_validate_json(raw)
        except ValueError as exc:
            raise MessageError(f"not a message envelope: {exc}") from exc

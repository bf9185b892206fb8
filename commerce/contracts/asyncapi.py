"""Generate the AsyncAPI 3 document and JSON Schemas from the message models and services.

The document is derived from code, never written by hand: channels from the
topics, messages from the registry, receive operations from each service's
handlers. `agentshop contracts` writes it to `docs/asyncapi.yaml` and one JSON
Schema per message version to `docs/schemas/`; a test fails when they are stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from commerce.contracts.base import REGISTRY, Envelope, Message
from commerce.contracts.topics import Topic, dlq_topic

REF = "#/components/schemas/{model}"
DOCS = Path(__file__).resolve().parents[2] / "docs"


def _channel_id(topic: str) -> str:
    parts = topic.replace(".", "-").split("-")
    return parts[0] + "".join(p.capitalize() for p in parts[1:])


def _message_id(model: type[Message]) -> str:
    return f"{model.TYPE}.v{model.VERSION}"


def message_schema(model: type[Message]) -> dict[str, Any]:
    """The JSON Schema of a whole record: the envelope with this message as payload."""
    envelope = Envelope.model_json_schema()
    payload = model.model_json_schema()
    defs = payload.pop("$defs", {})
    envelope["title"] = f"{model.TYPE} v{model.VERSION}"
    envelope["description"] = (model.__doc__ or "").strip() or f"{model.KIND} {model.TYPE}"
    envelope["properties"]["type"] = {"const": model.TYPE, "title": "Type", "type": "string"}
    envelope["properties"]["version"] = {
        "const": model.VERSION,
        "title": "Version",
        "type": "integer",
    }
    envelope["properties"]["payload"] = payload
    if defs:
        envelope["$defs"] = defs
    return envelope


def build_document(services: list[Any] | None = None) -> dict[str, Any]:
    """AsyncAPI 3.0 for every registered message; `services` adds who receives what."""
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for model in REGISTRY.contracts():
        schema = model.model_json_schema(ref_template=REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        messages[_message_id(model)] = {
            "name": model.TYPE,
            "title": f"{model.TYPE} (v{model.VERSION})",
            "summary": (model.__doc__ or "").strip().splitlines()[0]
            if model.__doc__
            else model.KIND,
            "contentType": "application/json",
            "tags": [{"name": model.KIND}],
            "headers": {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "const": model.TYPE},
                    "correlation_id": {"type": "string"},
                    "traceparent": {"type": "string", "description": "W3C trace context"},
                },
            },
            "payload": {
                "type": "object",
                "description": "The envelope; `payload` holds the message",
                "required": ["message_id", "type", "version", "occurred_at", "payload"],
                "properties": {
                    "message_id": {"type": "string", "format": "uuid"},
                    "type": {"type": "string", "const": model.TYPE},
                    "version": {"type": "integer", "const": model.VERSION},
                    "correlation_id": {"type": ["string", "null"]},
                    "causation_id": {"type": ["string", "null"], "format": "uuid"},
                    "occurred_at": {"type": "string", "format": "date-time"},
                    "payload": {"$ref": REF.format(model=model.__name__)},
                },
            },
        }
    channels: dict[str, Any] = {}
    for topic in Topic:
        models = REGISTRY.for_topic(topic.value)
        channels[_channel_id(topic.value)] = {
            "address": topic.value,
            "description": f"Key: the aggregate id. Dead letters go to `{dlq_topic(topic.value)}`.",
            "messages": {
                _message_id(m): {"$ref": f"#/components/messages/{_message_id(m)}"} for m in models
            },
        }
    operations: dict[str, Any] = {}
    for service in services or []:
        for handler in service.handlers:
            model = handler.message
            channel = _channel_id(handler.source)
            if channel not in channels:
                continue
            operations[f"{service.name}.receive{model.TYPE}"] = {
                "action": "receive",
                "summary": f"{service.name} handles {model.TYPE}",
                "channel": {"$ref": f"#/channels/{channel}"},
                "messages": [{"$ref": f"#/channels/{channel}/messages/{_message_id(model)}"}],
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "agentshop messaging",
            "version": "1.0.0",
            "description": (
                "Commands and events of the agentshop commerce backend. Every record "
                "is a JSON envelope (message_id, type, version, correlation_id, "
                "causation_id, occurred_at, payload). Generated from the code by "
                "`agentshop contracts`."
            ),
        },
        "defaultContentType": "application/json",
        "channels": dict(sorted(channels.items())),
        "operations": dict(sorted(operations.items())),
        "components": {
            "messages": dict(sorted(messages.items())),
            "schemas": dict(sorted(schemas.items())),
        },
    }


def render(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def schema_files() -> dict[str, str]:
    """File name → JSON Schema text, one per message version."""
    return {
        f"{_message_id(model)}.json": json.dumps(message_schema(model), indent=2, sort_keys=True)
        + "\n"
        for model in REGISTRY.contracts()
    }


def write(services: list[Any], docs: Path = DOCS) -> list[Path]:
    """Write docs/asyncapi.yaml and docs/schemas/*.json; returns the files that changed."""
    changed = []
    target = docs / "asyncapi.yaml"
    text = render(build_document(services))
    if not target.exists() or target.read_text() != text:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        changed.append(target)
    schema_dir = docs / "schemas"
    schema_dir.mkdir(parents=True, exist_ok=True)
    wanted = schema_files()
    for stale in {p.name for p in schema_dir.glob("*.json")} - set(wanted):
        (schema_dir / stale).unlink()
        changed.append(schema_dir / stale)
    for name, body in wanted.items():
        path = schema_dir / name
        if not path.exists() or path.read_text() != body:
            path.write_text(body)
            changed.append(path)
    return changed

"""Message contracts: registry, envelope, validation, generated documents."""

from __future__ import annotations

import json
import tempfile
import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError

from commerce.contracts import REGISTRY, Envelope, MessageError, Topic, all_topic_names, asyncapi
from commerce.contracts.checkout import (
    CheckoutFailed,
    InitiateCheckoutCommand,
    ReserveInventory,
)
from commerce.contracts.values import Address, CheckoutLine, StockLine, Totals
from commerce.platform.stack import load_service
from commerce.services import SERVICES


def initiate(**overrides: object) -> InitiateCheckoutCommand:
    fields: dict[str, object] = {
        "checkout_id": uuid.uuid4(),
        "user_id": "user_123",
        "lines": [
            CheckoutLine(
                sku="BAT-AA-8",
                product_id="p-1",
                name="AA batteries, 8 pack",
                quantity=2,
                unit_price_cents=899,
            )
        ],
        "shipping_address": Address(
            name="Alice Martin",
            line1="1 Main St",
            city="Portland",
            region="OR",
            postal_code="97201",
            country="US",
        ),
        "payment_token": "tok_visa",
        "quote": Totals(subtotal_cents=1798, total_cents=1798),
    }
    fields.update(overrides)
    return InitiateCheckoutCommand.model_validate(fields)


def test_every_message_is_registered_once_with_its_topic() -> None:
    types = [m.TYPE for m in REGISTRY.contracts()]
    assert len(types) == len(set(types))
    assert REGISTRY.get("InitiateCheckoutCommand", 1).TOPIC == Topic.INITIATE_CHECKOUT
    assert REGISTRY.get("ReserveInventory", 1).TOPIC == "checkout.inventory-command"
    assert all(m.TOPIC in {t.value for t in Topic} for m in REGISTRY.contracts())


def test_envelope_round_trip_keeps_identity_and_payload() -> None:
    command = initiate()
    envelope = Envelope.wrap(command, correlation_id=str(command.checkout_id))
    decoded = Envelope.from_bytes(envelope.to_bytes())
    assert decoded == envelope
    assert decoded.open() == command
    assert decoded.correlation_id == str(command.checkout_id)


def test_checkout_messages_are_keyed_by_checkout_id() -> None:
    checkout_id = uuid.uuid4()
    reserve = ReserveInventory(checkout_id=checkout_id, lines=[StockLine(sku="A", quantity=1)])
    assert reserve.partition_key() == str(checkout_id)


def test_messages_are_frozen_and_strict() -> None:
    command = initiate()
    with pytest.raises(ValidationError):
        command.user_id = "someone else"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        initiate(unexpected="field")
    with pytest.raises(ValidationError):
        initiate(lines=[])
    with pytest.raises(ValidationError):
        Totals(subtotal_cents=-1, total_cents=0)
    with pytest.raises(ValidationError):
        Totals(subtotal_cents=1, total_cents=1, currency="usd")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "no value"),
        (b"not json", "not a message envelope"),
        (b'{"type": "X"}', "not a message envelope"),
    ],
)
def test_undecodable_records_raise_message_error(raw: bytes | None, reason: str) -> None:
    with pytest.raises(MessageError, match=reason):
        Envelope.from_bytes(raw)


def test_unknown_type_or_invalid_payload_raise_message_error() -> None:
    unknown = Envelope(type="Teleport", version=1, payload={})
    with pytest.raises(MessageError, match="unknown message type"):
        unknown.open()
    newer = Envelope(type="CheckoutFailed", version=99, payload={})
    with pytest.raises(MessageError, match="version 99"):
        newer.open()
    bad = Envelope(type="CheckoutFailed", version=1, payload={"checkout_id": "nope"})
    with pytest.raises(MessageError, match="invalid CheckoutFailed payload"):
        bad.open()


def test_checkout_failed_codes_are_closed() -> None:
    with pytest.raises(ValidationError):
        CheckoutFailed.model_validate(
            {"checkout_id": str(uuid.uuid4()), "user_id": "u", "code": "oops", "reason": "x"}
        )


def test_every_consumed_topic_has_a_dead_letter_topic() -> None:
    names = set(all_topic_names())
    for topic in Topic:
        assert topic.dlq in names


def test_message_schemas_describe_the_envelope() -> None:
    schema = asyncapi.message_schema(InitiateCheckoutCommand)
    assert schema["properties"]["type"]["const"] == "InitiateCheckoutCommand"
    assert "checkout_id" in schema["properties"]["payload"]["properties"]
    json.dumps(schema)  # serialisable


def test_generated_asyncapi_and_schemas_are_committed_and_current() -> None:
    services = [load_service(name) for name in SERVICES]
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        asyncapi.write(services, fresh)
        generated = {p.relative_to(fresh): p.read_text() for p in fresh.rglob("*") if p.is_file()}
    committed = {
        p.relative_to(asyncapi.DOCS): p.read_text()
        for p in [asyncapi.DOCS / "asyncapi.yaml", *(asyncapi.DOCS / "schemas").glob("*.json")]
    }
    assert generated == committed, "stale: run `agentshop contracts` and commit docs/"


def test_asyncapi_document_lists_every_message_on_its_channel() -> None:
    document = asyncapi.build_document([])
    assert document["asyncapi"] == "3.0.0"
    addresses = {c["address"]: c for c in document["channels"].values()}
    for model in REGISTRY.contracts():
        assert f"{model.TYPE}.v{model.VERSION}" in addresses[model.TOPIC]["messages"]


@pytest.mark.parametrize("bad", ["Main\x00St", "Main\nSt", "Main\udabbSt", "\x7f"])
def test_typed_text_refuses_control_characters_and_lone_surrogates(bad: str) -> None:
    from commerce.contracts.values import Address

    good = {"name": "A", "line1": "1 Main St", "city": "Portland", "postal_code": "97201"}
    Address.model_validate({**good, "country": "US"})
    with pytest.raises(ValidationError) as refused:
        Address.model_validate({**good, "line1": bad, "country": "US"})
    assert refused.value.errors()[0]["loc"] == ("line1",)


def test_paragraphs_keep_their_line_breaks() -> None:
    from pydantic import TypeAdapter

    from commerce.contracts.values import Paragraph

    adapter = TypeAdapter(Paragraph)
    assert adapter.validate_python("first line\nsecond\tline") == "first line\nsecond\tline"
    with pytest.raises(ValidationError):
        adapter.validate_python("nul\x00")

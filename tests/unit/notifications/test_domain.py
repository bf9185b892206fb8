"""Notification rules without I/O: rendering, recipients, what is recorded before sending."""

from __future__ import annotations

import uuid

import pytest

from commerce.notifications.domain import (
    FAILED,
    QUEUED,
    SENT,
    InvalidNotification,
    Notification,
    check_recipient,
    prepare,
    render,
)


def test_templates_fill_in_references_and_amounts() -> None:
    data = {"order_id": "8c1d2e3f-aaaa", "total_cents": 2599, "currency": "EUR"}
    assert render("email", "order_confirmation", data) == (
        "Your order 8c1d2e3f is confirmed",
        "Thank you! Order 8c1d2e3f is confirmed. Total: 25.99 EUR.",
    )
    _, body = render("email", "refund_failed", {"order_id": "abc", "reason": None})
    assert body == "We could not refund order abc: "
    assert (
        render("push", "refund_processed", {"order_ref": "R1"})[1] == "We refunded — for order R1."
    )


def test_sms_bodies_are_cut_to_160_characters() -> None:
    _, body = render("sms", "checkout_failed", {"reason": "x" * 300})
    assert len(body) == 160 and body.endswith("…")
    _, email_body = render("email", "checkout_failed", {"reason": "x" * 300})
    assert len(email_body) > 160


def test_an_unknown_template_is_refused() -> None:
    with pytest.raises(InvalidNotification, match="unknown template 'nope'"):
        render("email", "nope", {})


@pytest.mark.parametrize(
    ("channel", "recipient", "ok"),
    [
        ("email", "alice@example.com", True), ("email", "alice@example", False),
        ("email", "alice example.com", False), ("sms", "+15551234567", True),
        ("sms", "5551234567", False), ("sms", "+0123456789", False),
        ("push", "device-1", True), ("push", "   ", False),
    ],
)  # fmt: skip
def test_recipients_are_checked_by_channel(channel: str, recipient: str, ok: bool) -> None:
    if ok:
        check_recipient(channel, recipient)
    else:
        with pytest.raises(InvalidNotification):
            check_recipient(channel, recipient)


def _notification(recipient: str, template: str = "order_shipped") -> Notification:
    return Notification(uuid.uuid4(), "user_1", recipient, template, {"order_id": "o-1"})


def test_what_is_recorded_before_sending() -> None:
    queued = prepare("email", _notification("a@b.co"), delivers=True)
    assert (queued.status, queued.subject) == (QUEUED, "Order o-1 has shipped")
    assert prepare("email", _notification("a@b.co"), delivers=False).status == SENT
    assert prepare("sms", _notification("+15551234567"), delivers=True).status == SENT
    bad = prepare("email", _notification("not-an-address"), delivers=True)
    assert (bad.status, bad.subject, bad.body) == (FAILED, "", "")
    assert bad.failure_reason == "'not-an-address' is not an email address"
    unknown = prepare("push", _notification("device-1", "nope"), delivers=False)
    assert (unknown.status, unknown.failure_reason) == (FAILED, "unknown template 'nope'")

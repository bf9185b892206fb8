"""The assistant's in-process shop refuses what the API refuses, with the API's words."""

from __future__ import annotations

import pytest

from assistant.commerce import CommerceError
from bff.assistant_shop import path_id, request_body
from shopapi.schemas import CartLineCreate, RefundCreate


def test_a_body_the_api_refuses_is_refused_with_its_status_and_reason() -> None:
    with pytest.raises(CommerceError) as refused:
        request_body(CartLineCreate, sku="BAT-AA-8", quantity=1001)
    assert refused.value.status == 422 and refused.value.code == "invalid_field"
    assert refused.value.message == "quantity: Input should be less than or equal to 1000"
    with pytest.raises(CommerceError) as both:
        request_body(
            RefundCreate, reason="broken", amount_cents=100, lines=[{"sku": "X", "quantity": 1}]
        )
    assert "not both" in both.value.message
    assert request_body(CartLineCreate, sku="BAT-AA-8", quantity=2).quantity == 2


def test_an_id_that_is_not_one_is_a_422_as_in_a_path() -> None:
    with pytest.raises(CommerceError) as refused:
        path_id("latest")
    assert refused.value.status == 422
    assert str(path_id("3f0c6a9e-6f3b-4a53-9d55-3f5f1f1f9b1e")).startswith("3f0c6a9e")

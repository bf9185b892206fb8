"""The assistant reaches the shop in process: a chat turn is one request of the person's,
whatever number of shop calls it makes (no HTTP back into the BFF, no second rate-limit
pass per call; docs/adr/0008)."""

from __future__ import annotations

import pytest

from bff import auth
from commerce.services import SERVICES
from loadtests.runner import LOAD_PASSWORD, load_email, seed_load_users
from tests.conftest import ServiceStack
from tests.e2e.helpers import closing, signed_in

pytestmark = pytest.mark.integration


async def test_a_chat_turn_spends_one_request_of_the_rate_limit(
    stack: ServiceStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    await stack.ensure(*SERVICES)
    await seed_load_users(stack.settings, 4)
    person = await signed_in(stack, load_email(3), LOAD_PASSWORD)
    user = (await person.get("/v1/me")).json()["user_id"]
    taken: list[str] = []
    limiter = auth.LIMITER.of(stack.runtime("gateway-bff"))
    take = limiter.take

    def counted(user_id: str, per_minute: int) -> float:
        taken.append(user_id)
        return take(user_id, per_minute)

    monkeypatch.setattr(limiter, "take", counted)
    async with closing(person):
        await person.post("/v1/cart/lines", json={"sku": "ELC-C25A556C", "quantity": 1})
        taken.clear()
        turn = await person.post(
            "/v1/assistant/messages", json={"conversation_id": None, "text": "what's in my cart?"}
        )
        assert turn.status_code == 200, turn.text
        said = " ".join(m["text"] for m in turn.json()["messages"])
        assert "Voltra" in said or "ELC-C25A556C" in said, said  # it read the cart
        assert taken.count(user) == 1, taken

        taken.clear()
        search = await person.post(
            "/v1/assistant/messages", json={"conversation_id": None, "text": "buy a usb c cable"}
        )
        assert search.status_code == 200, search.text
        assert taken.count(user) == 1, taken

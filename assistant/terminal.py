"""`agentshop chat`: talk to the assistant in a terminal, through a running BFF over HTTP.

Signs in (default the demo user alice), sends each line to `/v1/assistant/messages`,
prints the replies, and when a purchase awaits approval shows the exact quote as a table
and asks y/n (the answer goes to `/confirm`).
"""

from __future__ import annotations

from typing import Any

import httpx
from rich.console import Console
from rich.prompt import Prompt
from rich.table import Table

from shopapi import client as api
from shopapi.schemas import AssistantTurnPublic

QUIT = {"quit", "exit", "bye", ":q"}


def money(cents: int | None) -> str:
    return "-" if cents is None else f"${cents / 100:,.2f}"


YES = {"y", "yes", "yep", "yeah", "ok", "okay", "sure", "confirm", "go ahead"}
NO = {"n", "no", "nope", "nah", "cancel", "stop", "don't"}


def question(pending: dict[str, Any]) -> str:
    """The y/n question for what approving does: pay, refund or cancel."""
    order = str(pending.get("order_id") or "")[:8]
    total = money(pending.get("total_cents"))
    match pending.get("action", "purchase"):
        case "refund":
            return f"Refund {total} of order {order} to your card? (y/n, or an edit)"
        case "cancel":
            return f"Cancel order {order} and refund {total} to your card? (y/n, or an edit)"
    return f"Place this order for {total}? (y/n, or an edit such as 'make it three')"


def confirmation_table(pending: dict[str, Any]) -> Table:
    action = pending.get("action", "purchase")
    if action in ("refund", "cancel"):
        return give_back_table(pending)
    table = Table("item", "qty", "unit", "total", title="Your order", title_justify="left")
    for line in pending["lines"]:
        table.add_row(
            line["name"], str(line["quantity"]),
            money(line["unit_price_cents"]), money(line["line_total_cents"]),
        )  # fmt: skip
    table.add_section()
    table.add_row("subtotal", "", "", money(pending["subtotal_cents"]))
    if pending["discount_cents"]:
        table.add_row(f"discount {pending.get('coupon_code') or ''}".strip(), "", "",
                      "-" + money(pending["discount_cents"]))  # fmt: skip
    table.add_row("tax", "", "", money(pending["tax_cents"]))
    table.add_row("shipping", "", "", money(pending["shipping_cents"]))
    table.add_row("[bold]total[/bold]", "", "", f"[bold]{money(pending['total_cents'])}[/bold]")
    if pending.get("budget_cents") is not None:
        table.caption = f"your budget: {money(pending['budget_cents'])}"
    return table


def give_back_table(pending: dict[str, Any]) -> Table:
    """A refund or cancellation: the order, the items going back, and the amount that goes
    back to the card (tax included)."""
    order = str(pending.get("order_id") or "")[:8]
    title = (
        f"Cancel order {order}" if pending.get("action") == "cancel" else f"Refund of order {order}"
    )
    table = Table("item", "sku", "qty", title=title, title_justify="left")
    for line in pending["lines"]:
        table.add_row(line["name"], line["sku"], str(line["quantity"]))
    table.add_section()
    table.add_row(
        "[bold]back to your card[/bold]", "", f"[bold]{money(pending['total_cents'])}[/bold]"
    )
    return table


class ChatSession:
    def __init__(self, shop: api.Client, console: Console) -> None:
        self.shop = shop
        self.console = console
        self.conversation_id: str | None = None

    def sign_in(self, email: str, password: str) -> None:
        try:
            self.shop.sign_in(email, password)
        except api.ShopError as exc:
            raise ChatError(_reason(exc)) from exc

    def send(self, text: str) -> dict[str, Any]:
        return self._turn(api.send_message(self.conversation_id, text))

    def confirm(self, approve: bool, total_cents: int | None = None) -> dict[str, Any]:
        """Approve or decline; with `total_cents`, only the order the person saw is approved."""
        assert self.conversation_id is not None  # a confirmation follows a turn
        return self._turn(api.confirm(self.conversation_id, approve, total_cents))

    def _turn(self, call: api.Call[AssistantTurnPublic]) -> dict[str, Any]:
        try:
            turn = self.shop.send(call).model_dump(mode="json")
        except api.ShopError as exc:
            raise ChatError(_reason(exc)) from exc
        self.conversation_id = turn["conversation_id"]
        for message in turn["messages"]:
            self.console.print(f"[bold cyan]assistant[/bold cyan] {message['text']}")
        return turn

    def loop(self) -> None:
        self.console.print("Chat with the shopping assistant ('quit' to leave).")
        while True:
            try:
                text = Prompt.ask("[bold]you[/bold]", console=self.console).strip()
            except (EOFError, KeyboardInterrupt):
                return
            if not text:
                continue
            if text.lower() in QUIT:
                return
            try:
                turn = self.send(text)
                while turn.get("pending"):
                    pending = turn["pending"]
                    self.console.print(confirmation_table(pending))
                    try:
                        answer = Prompt.ask(question(pending), console=self.console).strip()
                    except (EOFError, KeyboardInterrupt):
                        answer = "quit"
                    word = answer.lower().strip(" .!")
                    if word in QUIT:  # leaving is a no: nothing is bought, the cart put back
                        self.confirm(False, pending["total_cents"])
                        return
                    if word in YES or word in NO:
                        turn = self.confirm(word in YES, pending["total_cents"])
                    elif answer:  # an edit ("make it three"): the assistant re-quotes it
                        turn = self.send(answer)
                    else:
                        continue
            except ChatError as exc:
                self.console.print(f"[red]{exc}[/red]")


class ChatError(Exception):
    pass


def _reason(error: api.ShopError) -> str:
    return error.message or f"the shop answered {error.status}"


def run_chat(url: str, email: str, password: str, console: Console | None = None) -> int:
    console = console or Console()
    with httpx.Client(base_url=url, timeout=60) as http:
        session = ChatSession(api.Client(url, http=http), console)
        try:
            session.sign_in(email, password)
        except ChatError as exc:
            console.print(f"[red]Could not sign in: {exc}[/red]")
            return 1
        except httpx.HTTPError as exc:
            console.print(
                f"[red]No BFF answers at {url} ({type(exc).__name__}); is `agentshop up` running?[/red]"
            )
            return 1
        try:
            session.loop()
        except httpx.HTTPError as exc:
            console.print(f"[red]The connection to {url} failed ({type(exc).__name__}).[/red]")
            return 1
    return 0

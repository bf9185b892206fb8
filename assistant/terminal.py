"""`agentshop chat`: talk to the assistant in a terminal, through a running BFF over HTTP.

Signs in (default the demo user alice), sends each line to `/v1/assistant/messages`,
prints the replies, and when a purchase awaits approval shows the exact quote as a table
and asks y/n (the answer goes to `/confirm`).
"""

from __future__ import annotations

from typing import Any

import httpx
from rich.console import Console
from rich.prompt import Confirm, Prompt
from rich.table import Table

QUIT = {"quit", "exit", "bye", ":q"}


def money(cents: int | None) -> str:
    return "-" if cents is None else f"${cents / 100:,.2f}"


def confirmation_table(pending: dict[str, Any]) -> Table:
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


class ChatSession:
    def __init__(self, http: httpx.Client, console: Console) -> None:
        self.http = http
        self.console = console
        self.conversation_id: str | None = None

    def sign_in(self, email: str, password: str) -> None:
        response = self.http.post("/v1/auth/token", json={"email": email, "password": password})
        if response.status_code != 200:
            raise ChatError(_reason(response))
        self.http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def send(self, text: str) -> dict[str, Any]:
        body = {"conversation_id": self.conversation_id, "text": text}
        return self._turn(self.http.post("/v1/assistant/messages", json=body))

    def confirm(self, approve: bool, total_cents: int | None = None) -> dict[str, Any]:
        """Approve or decline; with `total_cents`, only the order the person saw is approved."""
        path = f"/v1/assistant/conversations/{self.conversation_id}/confirm"
        body = {"approve": approve, "expected_total_cents": total_cents}
        return self._turn(self.http.post(path, json=body))

    def _turn(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code != 200:
            raise ChatError(_reason(response))
        turn: dict[str, Any] = response.json()
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
                    self.console.print(confirmation_table(turn["pending"]))
                    try:
                        approve = Confirm.ask("Place this order?", console=self.console)
                    except (EOFError, KeyboardInterrupt):
                        return
                    turn = self.confirm(approve, turn["pending"]["total_cents"])
            except ChatError as exc:
                self.console.print(f"[red]{exc}[/red]")


class ChatError(Exception):
    pass


def _reason(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"the shop answered {response.status_code}"


def run_chat(url: str, email: str, password: str, console: Console | None = None) -> int:
    console = console or Console()
    with httpx.Client(base_url=url, timeout=60) as http:
        session = ChatSession(http, console)
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

"""The shopper split keeps every message verbatim and judges items by kind and quantity."""

from __future__ import annotations

import json

from evals.shopper import SHOPPER, Line, _texts, lines_fit, load_shopper, same_kind


def test_every_message_is_kept_verbatim() -> None:
    raw = [json.loads(t) for t in SHOPPER.read_text().splitlines() if t.strip()]
    cases = load_shopper()
    assert len(cases) == len(raw) == 90
    assert [c.turns for c in cases] == [r["turns"] for r in raw]


def test_an_order_number_points_at_the_order_made_for_it() -> None:
    case = next(c for c in load_shopper() if any("1042" in t for t in c.turns))
    order_id = "0f3e2d1c-0000-4000-8000-000000000001"
    texts = _texts(case, {"1042": order_id})
    assert all("1042" not in t for t in texts)
    assert any("0f3e2d1c" in t for t in texts)


def test_items_match_by_kind_and_quantity_in_the_persons_unit() -> None:
    aa = Line(q="AA batteries", qty=2, pack=8)
    assert same_kind(aa, "AA Alkaline Batteries, 8-pack")
    assert not same_kind(aa, "USB-C Cable, 1m")
    assert not same_kind(aa, "AAA Alkaline Batteries, 8-pack")
    pencils = Line(q="pencils", qty=12)
    assert lines_fit([pencils], [{"name": "HB Pencils, 12-pack", "quantity": 1}])
    assert lines_fit([pencils], [{"name": "HB Pencil", "quantity": 12}])
    assert not lines_fit([pencils], [{"name": "HB Pencils, 12-pack", "quantity": 12 * 2}])
    assert not lines_fit([pencils], [{"name": "Eraser", "quantity": 12}])

"""How much typo correction is worth: the split's purchase requests with one typo put in
every product word, scored at the plan level with the correction on and off.

`python -m evals.typos [dev|test]` prints, for the single_item, multi_item,
quantity_words and budget cases, the plan-level outcome accuracy, lines accuracy and pass
rate of the original messages and of the misspelled ones, each with `assistant.spelling`
on and off. A typo is one of a letter left out, two neighbours swapped or a letter
doubled, chosen by a generator seeded with the case id, in each word of five letters or
more that the catalog uses (so "please" stays, "batteries" does not); the expected
answer is unchanged.
"""

from __future__ import annotations

import asyncio
import random
import re
import sys
from collections.abc import Sequence

from rich.console import Console

from assistant.spelling import Speller
from evals.backends import OfflineBackend
from evals.dataset import Case, Turn, load_cases
from evals.runner import CaseResult, score_case
from evals.snapshot import _vocabulary

CATEGORIES = ("single_item", "multi_item", "quantity_words", "budget")


def misspell(word: str, rng: random.Random) -> str:
    at = rng.randrange(1, len(word) - 1)
    match rng.choice(("drop", "swap", "double")):
        case "drop":
            return word[:at] + word[at + 1 :]
        case "swap":
            return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
        case _:
            return word[:at] + word[at] + word[at:]


def with_typos(case: Case, catalog: frozenset[str]) -> Case:
    rng = random.Random(case.id)

    def typo(match: re.Match[str]) -> str:
        word = match.group(0)
        return misspell(word, rng) if word.lower() in catalog and len(word) >= 5 else word

    last = case.turns[-1]
    changed = Turn(role="user", text=re.sub(r"[A-Za-z]+", typo, last.text))
    return case.model_copy(update={"turns": [*case.turns[:-1], changed]})


def _keep(self: Speller, word: str) -> str | None:
    """`Speller.word` with the correction switched off: every word as typed."""
    return None


def _rates(results: Sequence[CaseResult]) -> tuple[float, float, float]:
    n = len(results)
    return (
        sum(bool(r.outcome_correct) for r in results) / n,
        sum(bool(r.lines_correct) for r in results) / n,
        sum(r.passed for r in results) / n,
    )


async def measure(split: str) -> None:
    cases = [c for c in load_cases(split) if c.category in CATEGORIES and len(c.turns) == 1]
    catalog = frozenset(w for w in _vocabulary() if w.isalpha())
    noisy = [with_typos(c, catalog) for c in cases]
    changed = sum(a.turns[-1].text != b.turns[-1].text for a, b in zip(cases, noisy, strict=True))
    word = Speller.word
    out = Console()
    out.print(f"{split}: {len(cases)} purchase requests, {changed} with typos put in")
    out.print("messages    correction  outcome  lines  pass")
    for label, chosen in (("as written", cases), ("misspelled", noisy)):
        for on in (True, False):
            if not on:
                Speller.word = _keep  # type: ignore[method-assign]
            try:
                backend = OfflineBackend()
                results = [await score_case(c, backend, plans=True) for c in chosen]
            finally:
                Speller.word = word  # type: ignore[method-assign]
            outcome, lines, passed = _rates(results)
            state = "on " if on else "off"
            out.print(f"{label:<11} {state:<11} {outcome:7.3f} {lines:6.3f} {passed:5.3f}")


if __name__ == "__main__":
    asyncio.run(measure(sys.argv[1] if len(sys.argv) > 1 else "dev"))

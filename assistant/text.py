"""Small helpers for reading what people type."""

from __future__ import annotations


def one_letter_off(word: str, target: str) -> bool:
    """True when `word` is `target` with one letter dropped, added or swapped with its
    neighbour (no substitutions: "remote" is not "remove")."""
    if word == target or abs(len(word) - len(target)) > 1:
        return False
    if len(word) == len(target):
        diff = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and word[diff[0]] == target[diff[1]]
            and word[diff[1]] == target[diff[0]]
        )
    short, long_ = (word, target) if len(word) < len(target) else (target, word)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))

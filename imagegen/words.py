"""Cutting a text to a length, the one rule: used for prompts (imagegen.prompts) and for the words
set on a picture (imagegen.images.overlay). A leaf module, so `images`, which sits below
`prompts` in the import graph, can share it."""

from __future__ import annotations

__all__ = ["cut"]


def cut(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else cut (at a word boundary when close) + '…'."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space >= int(limit * 0.8):
        head = head[:space]
    return head.rstrip(" ,;:-") + "…"

"""Stop strings over a growing output text: where the text ends at the first stop string, and how much
of a tail to hold back because it may be the start of one (so a client never sees a stop string's
prefix that a later token completes)."""

from __future__ import annotations

from typing import List, Optional, Tuple


def cut_at_stop(text: str, emitted: int, stop: List[str]) -> Tuple[str, Optional[str]]:
    """The text cut before the earliest stop string in it, and that stop string (None when none was
    found). The search starts where a stop string could begin that was not complete in the part
    already emitted."""
    if not stop:
        return text, None
    start = max(0, emitted - max(len(s) for s in stop))
    pos, hit = -1, None
    for s in stop:
        p = text.find(s, start)
        if p != -1 and (pos == -1 or p < pos):
            pos, hit = p, s
    if pos == -1:
        return text, None
    return text[:pos], hit


def emit_limit(text: str, stop: List[str], finish: Optional[str]) -> int:
    """How much of `text` may be sent: all of it once finished, else up to a tail that may be the
    start of a stop string."""
    limit = len(text)
    if stop and finish is None:
        for s in stop:
            for k in range(min(len(s) - 1, len(text)), 0, -1):
                if text.endswith(s[:k]):
                    limit = min(limit, len(text) - k)
                    break
    return limit

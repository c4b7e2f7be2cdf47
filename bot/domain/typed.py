"""What people type, as text: characters that show nothing are not text."""

from __future__ import annotations

import unicodedata

# Characters that render as nothing but are not whitespace to str.strip(): the Braille
# blank (U+2800, a favourite for "empty" messages), the Hangul fillers, zero-width
# spaces and joiners, the word joiner and the byte-order mark.
INVISIBLE = frozenset("\u2800\u3164\u115f\u1160\uffa0\u200b\u200c\u200d\u2060\ufeff\u180e")


def visible(text: str | None) -> str:
    """``text`` without the characters that show nothing at its ends, and "" if nothing
    would show at all."""
    if not text:
        return ""
    shown = "".join(ch for ch in text
                    if ch not in INVISIBLE and unicodedata.category(ch) not in ("Cf",))
    if not shown.strip():
        return ""
    return text.strip().strip("".join(INVISIBLE)).strip()

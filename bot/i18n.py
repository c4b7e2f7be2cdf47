"""Translations: gettext catalogs (zh, en) read from the package's .po files at run time.

Reading the .po files directly means a fresh install has nothing to compile. Source
strings are English; mark them with ``_("...")`` so Babel's extractor finds them, and
fill placeholders with ``str.format``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LANGUAGES = ("zh", "en")
DOMAIN = "yishi"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def app_language(code: str | None) -> str | None:
    """Map a Telegram ``language_code`` (``zh-hans``, ``en-US``...) to a catalog we have."""
    if not code:
        return None
    base = code.split("-")[0].split("_")[0].lower()
    return base if base in LANGUAGES else None


def normalize_language(code: str | None, default: str) -> str:
    return app_language(code) or default


class Translator:
    """``_("text")`` in one language; a missing entry falls back to the English source."""

    def __init__(self, language: str, messages: dict[str, str]) -> None:
        self.language = language
        self._messages = messages

    def __call__(self, message: str) -> str:
        return self._messages.get(message) or message


@cache
def catalog(language: str) -> dict[str, str]:
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as handle:
        parsed = read_po(handle, locale=language, domain=DOMAIN)
    return {
        str(message.id): str(message.string)
        for message in parsed
        if message.id and message.string and not message.fuzzy
    }


def translator(language: str) -> Translator:
    if language not in LANGUAGES:
        language = LANGUAGES[0]
    return Translator(language, catalog(language))


def N_(message: str) -> str:
    """Mark a string for extraction where it is translated later (menus, tables)."""
    return message

"""Translations: gettext catalogs (zh, en) read from the package's .po files at run time.

Reading the .po files directly means a fresh install has nothing to compile. Source
strings are English; mark them with ``_("...")`` so Babel's extractor finds them, and
fill placeholders with ``str.format``. Babel maintains the catalogs (scripts/i18n.py); at
run time a small reader of the subset Babel writes loads them, several times faster than
Babel's own parser (a test checks both read the same).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from babel import Locale

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

    def join(self, items: Iterable[str]) -> str:
        """Items listed with the language's own separator, from the locale's data: 、 in
        Chinese, ", " in English."""
        return _separator(self.language).join(items)


@cache
def _separator(language: str) -> str:
    middle = Locale.parse(language).list_patterns["standard"]["middle"]
    return middle.replace("{0}", "").replace("{1}", "")


@cache
def catalog(language: str) -> dict[str, str]:
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    return read_catalog(path.read_text(encoding="utf-8"))


def read_catalog(text: str) -> dict[str, str]:
    """The translated, non-fuzzy singular entries of a .po file: msgid -> msgstr."""
    messages: dict[str, str] = {}
    entry: dict[str, list[str]] = {}
    fuzzy = False
    current: str | None = None

    def finish() -> None:
        msgid, msgstr = "".join(entry.get("msgid", [])), "".join(entry.get("msgstr", []))
        if msgid and msgstr and not fuzzy and "msgid_plural" not in entry:
            messages[msgid] = msgstr

    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                if entry:
                    finish()
                    entry, current = {}, None
                fuzzy = True
            continue
        if not line:
            continue
        if line.startswith('"'):
            if current is not None:
                entry[current].append(ast.literal_eval(line))
            continue
        keyword, _, value = line.partition(" ")
        if keyword in ("msgid", "msgctxt") and "msgstr" in entry:
            finish()
            entry, fuzzy = {}, False
        current = keyword
        entry[keyword] = [ast.literal_eval(value)]
    if entry:
        finish()
    return messages


def translator(language: str) -> Translator:
    if language not in LANGUAGES:
        language = LANGUAGES[0]
    return Translator(language, catalog(language))


def N_(message: str) -> str:
    """Mark a string for extraction where it is translated later (menus, tables)."""
    return message


# Monday first, as datetime.weekday() counts.
WEEKDAY_NAMES = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"),
                 N_("Saturday"), N_("Sunday"))

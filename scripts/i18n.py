"""Keep the gettext catalogs in step with the code.

    python scripts/i18n.py update   # add new msgids to every catalog, drop unused ones
    python scripts/i18n.py check    # list msgids a catalog misses (the tests do the same)

Msgids are the English source strings marked with _() or N_() in bot/ and handlers/.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("bot", "handlers")
LOCALE_DIR = ROOT / "bot" / "locale"
LANGUAGES = ("zh", "en")
METHOD_MAP = [("**.py", "python")]


def used_msgids() -> dict[str, list[tuple[str, int]]]:
    """Every marked string in the code, with where it is used."""
    found: dict[str, list[tuple[str, int]]] = {}
    for source in SOURCES:
        for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT / source, METHOD_MAP, keywords={"_": None, "N_": None}
        ):
            if isinstance(message, str):
                found.setdefault(message, []).append((f"{source}/{filename}", lineno))
    return found


# What makes a translator in the code; a string given to one under any name but _ is not
# seen by the extraction above, so it would never be translated.
TRANSLATOR_SOURCES = {"translator", "person_translator", "chat_translator"}


def hidden_translations(source: str, filename: str = "<code>") -> list[tuple[str, int]]:
    """Calls with a string literal of a translator held under another name than ``_``
    (``group = translator(lang); group("Hello")``): (file, line) of each."""
    found: list[tuple[str, int]] = []
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module)):
            continue
        held = set()
        for node in ast.walk(function):
            value = node.value if isinstance(node, ast.Assign) else None
            if isinstance(value, ast.Await):
                value = value.value
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) \
                    and value.func.id in TRANSLATOR_SOURCES:
                held |= {t.id for t in node.targets if isinstance(t, ast.Name)} - {"_"}
        for node in ast.walk(function):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id in held and node.args \
                    and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                found.append((filename, node.lineno))
    return sorted(set(found))


def hidden_in_sources() -> list[tuple[str, int]]:
    return [hit for source in SOURCES for path in sorted((ROOT / source).rglob("*.py"))
            for hit in hidden_translations(path.read_text(encoding="utf-8"),
                                           str(path.relative_to(ROOT)))]


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "yishi.po"


def load(language: str) -> Catalog:
    path = catalog_path(language)
    if not path.exists():
        return Catalog(locale=language, domain="yishi")
    with path.open("rb") as handle:
        return read_po(handle, locale=language, domain="yishi")


def update() -> None:
    used = used_msgids()
    for language in LANGUAGES:
        old = load(language)
        new = Catalog(locale=language, domain="yishi", project="yishi",
                      fuzzy=False)
        for msgid in sorted(used):
            previous = old.get(msgid)
            new.add(msgid, previous.string if previous else "", locations=used[msgid])
        path = catalog_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, new, width=100, omit_header=False, sort_output=True)
        missing = sum(1 for m in new if m.id and not m.string)
        print(f"{language}: {len(used)} messages, {missing} untranslated")


def check() -> int:
    used = used_msgids()
    problems = 0
    for language in LANGUAGES:
        catalog = load(language)
        for msgid in sorted(used):
            entry = catalog.get(msgid)
            if entry is None or not entry.string or entry.fuzzy:
                problems += 1
                print(f"{language}: missing {msgid!r}")
    for filename, lineno in hidden_in_sources():
        problems += 1
        print(f"{filename}:{lineno}: a string given to a translator not named _ is never "
              "extracted; name it _")
    return 1 if problems else 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    if command == "update":
        update()
    else:
        raise SystemExit(check())

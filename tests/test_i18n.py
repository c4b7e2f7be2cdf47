"""Every string the code shows is in both catalogs, with the same placeholders."""

import re
import sys
from pathlib import Path

import pytest

from bot.i18n import LANGUAGES, catalog, normalize_language, translator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from i18n import hidden_in_sources, hidden_translations, used_msgids  # noqa: E402

PLACEHOLDER = re.compile(r"\{(\w*)\}")
USED = used_msgids()


def test_the_code_marks_strings():
    assert len(USED) > 40
    assert "This button is out of date." in USED


def test_no_string_goes_to_a_translator_the_extraction_cannot_see():
    """A translator called under another name than _ hides its strings from the catalogs
    (a group line once went out in English that way); passing one along is fine."""
    code = """
async def told(update, context, community):
    group = translator(community.language)
    reader = await person_translator(update, context)
    _ = translator("zh")
    _("Seen by the extraction")
    listed = await coming(conn, meeting, reader)
    return group("Never extracted")
"""
    assert hidden_translations(code, "x.py") == [("x.py", 8)]
    assert hidden_in_sources() == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_has_every_string_the_code_uses(language):
    messages = catalog(language)
    missing = sorted(set(USED) - set(messages))
    assert missing == [], f"{language} catalog misses: {missing}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_placeholders_and_markup(language):
    messages = catalog(language)
    for msgid in USED:
        translated = messages[msgid]
        assert sorted(PLACEHOLDER.findall(translated)) == sorted(PLACEHOLDER.findall(msgid)), \
            (language, msgid)
        assert re.findall(r"</?\w+>", translated) == re.findall(r"</?\w+>", msgid)


def test_chinese_is_really_chinese():
    messages = catalog("zh")
    untranslated = [m for m in USED if messages[m] == m and re.search(r"[A-Za-z]{4}", m)
                    and not m.startswith("Usage")]
    assert untranslated == []


def test_translator_falls_back_and_languages_normalise():
    assert translator("zh")("Saved.") == "已保存。"
    assert translator("en")("Saved.") == "Saved."
    assert translator("xx").language == "zh"
    assert translator("en")("a string nobody marked") == "a string nobody marked"
    assert normalize_language("zh-hans", "en") == "zh"
    assert normalize_language("en-US", "zh") == "en"
    assert normalize_language("de", "zh") == "zh"
    assert normalize_language(None, "en") == "en"


def test_the_run_time_reader_reads_the_catalogs_as_babel_does():
    from babel.messages.pofile import read_po

    from bot.i18n import LANGUAGES, LOCALE_DIR, read_catalog

    for language in LANGUAGES:
        path = LOCALE_DIR / language / "LC_MESSAGES" / "yishi.po"
        with path.open("rb") as handle:
            parsed = read_po(handle, locale=language)
        expected = {str(m.id): str(m.string) for m in parsed
                    if m.id and m.string and not m.fuzzy and isinstance(m.id, str)}
        assert read_catalog(path.read_text(encoding="utf-8")) == expected
        assert len(expected) > 600


def test_the_reader_skips_fuzzy_and_untranslated_entries_and_joins_lines():
    from bot.i18n import read_catalog

    text = ('msgid ""\nmsgstr "Content-Type: text/plain\\n"\n\n'
            '#, fuzzy\nmsgid "Old"\nmsgstr "旧"\n\n'
            'msgid "Empty"\nmsgstr ""\n\n'
            'msgid ""\n"Two "\n"lines \\"quoted\\"\\n"\nmsgstr "两行"\n\n'
            'msgid "Plain"\nmsgstr "平"\n')
    assert read_catalog(text) == {'Two lines "quoted"\n': "两行", "Plain": "平"}

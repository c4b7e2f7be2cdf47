"""Telegram's HTML parse mode, as far as the fake needs it: which tags are allowed, and the
plain text (whose length the limits count) that a formatted message turns into."""

from __future__ import annotations

from html.parser import HTMLParser

ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span",
                "tg-spoiler", "a", "tg-emoji", "code", "pre", "blockquote", "tg-time"}


class ParseError(ValueError):
    pass


class _TelegramHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            raise ParseError(f"Unsupported start tag \"{tag}\"")
        if tag == "a" and not dict(attrs).get("href"):
            raise ParseError("a tag without href")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            raise ParseError(f"Unmatched end tag \"{tag}\"")
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def plain_text(source: str, parse_mode: str | None) -> str:
    """The text a user sees; raises ParseError where Telegram would refuse the markup."""
    if parse_mode is None:
        return source
    if parse_mode.upper() != "HTML":
        # The bot uses HTML only; MarkdownV2 would need its own parser here.
        raise ParseError(f"the fake only understands HTML, got {parse_mode}")
    parser = _TelegramHtml()
    parser.feed(source)
    parser.close()
    if parser.open:
        raise ParseError(f"Unclosed tag \"{parser.open[-1]}\"")
    return "".join(parser.text)

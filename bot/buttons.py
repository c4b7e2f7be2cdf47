"""Button data: every kind of inline button yishi sends is declared once, with a typed
parser, in one registry.

Callback data is a short self-describing string, ``<prefix>:<field>:<field>``: ``v:42:3``
is a vote for option 3 of poll 42. A feature declares its buttons in its ``callbacks.py``::

    VOTE = button("v", Id, Index(10))

and builds data with ``VOTE.data(poll.id, 3)``, registers its handler with
``pattern=VOTE.matches`` and reads the press with ``VOTE.parse(query.data)``.

Telegram hands back whatever data a client sends, so none of it is trusted: data that does
not parse as a declared button (an unknown prefix, too many or too few fields, an id too
large for the database, digits that are not ASCII, a word that is not one of the
button's) is ``None`` here, and the bot answers "this button is out of date" before any
handler sees it (handlers/__init__.py). What parses is still checked against the database
by the handler (the poll exists, is open, the option is one of its options).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# Telegram's limit on callback data.
DATA_MAX_BYTES = 64
# The database's ids are signed 64-bit integers.
ID_MAX = 2 ** 63 - 1
_DIGITS = re.compile(r"(0|[1-9][0-9]{0,18})")
_WORD = re.compile(r"[a-z0-9_]{1,32}")


class Field(Protocol):
    def parse(self, text: str) -> Any | None: ...

    def format(self, value: Any) -> str: ...


class _Id:
    """A database id: ASCII digits, no leading zeros, at most what the database holds."""

    def parse(self, text: str) -> int | None:
        if not _DIGITS.fullmatch(text):
            return None
        value = int(text)
        return value if value <= ID_MAX else None

    def format(self, value: Any) -> str:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= ID_MAX:
            raise ValueError(f"not an id: {value!r}")
        return str(value)


Id = _Id()


@dataclass(frozen=True)
class Index:
    """A small number below ``limit`` (an option, a rating, a percentage)."""

    limit: int

    def parse(self, text: str) -> int | None:
        value = Id.parse(text)
        return value if value is not None and value < self.limit else None

    def format(self, value: Any) -> str:
        if not isinstance(value, int) or isinstance(value, bool) \
                or not 0 <= value < self.limit:
            raise ValueError(f"not below {self.limit}: {value!r}")
        return str(value)


class Choice:
    """One of a fixed set of words."""

    def __init__(self, *words: str) -> None:
        for word in words:
            if not _WORD.fullmatch(word):
                raise ValueError(f"not a button word: {word!r}")
        self.words = frozenset(words)

    def parse(self, text: str) -> str | None:
        return text if text in self.words else None

    def format(self, value: Any) -> str:
        if value not in self.words:
            raise ValueError(f"not one of {sorted(self.words)}: {value!r}")
        return str(value)


class _Word:
    """A short lower-case ASCII word (a category's key, a language code)."""

    def parse(self, text: str) -> str | None:
        return text if _WORD.fullmatch(text) else None

    def format(self, value: Any) -> str:
        if not isinstance(value, str) or not _WORD.fullmatch(value):
            raise ValueError(f"not a button word: {value!r}")
        return value


Word = _Word()


@dataclass(frozen=True, eq=False)
class Button:
    """One kind of button: its prefix and the fields after it."""

    prefix: str
    fields: tuple[Field, ...]

    def data(self, *values: Any) -> str:
        """The callback data for these values (checked: a bug here must not reach a user)."""
        if len(values) != len(self.fields):
            raise ValueError(f"{self.prefix}: {len(self.fields)} values, got {len(values)}")
        data = ":".join([self.prefix, *(f.format(v) for f, v in zip(self.fields, values,
                                                                      strict=True))])
        if len(data.encode()) > DATA_MAX_BYTES:
            raise ValueError(f"callback data over {DATA_MAX_BYTES} bytes: {data!r}")
        return data

    def parse(self, data: object) -> tuple[Any, ...] | None:
        """The values in ``data``, or None if it is not exactly this button's."""
        if not isinstance(data, str) or len(data.encode()) > DATA_MAX_BYTES:
            return None
        if not self.fields:
            return () if data == self.prefix else None
        if not data.startswith(self.prefix + ":"):
            return None
        return _parse_fields(self.fields, data[len(self.prefix) + 1:].split(":"))

    def matches(self, data: object) -> bool:
        """For a handler's ``pattern``: whether ``data`` is this button's."""
        return self.parse(data) is not None

    def matching(self, *wanted: Any) -> Callable[[object], bool]:
        """For a handler's ``pattern``: this button's data whose values equal ``wanted``
        where it is not None (``MANAGE.matching(None, "close")``)."""
        def check(data: object) -> bool:
            values = self.parse(data)
            return values is not None and all(
                want is None or want == value for want, value in zip(wanted, values,
                                                                     strict=False))
        return check


def any_of(*kinds: Button) -> Callable[[object], bool]:
    """For a handler's ``pattern``: data of any of these buttons."""
    def check(data: object) -> bool:
        found = parse(data)
        return found is not None and any(found[0] is kind for kind in kinds)
    return check


class Registry:
    def __init__(self) -> None:
        self._buttons: dict[str, Button] = {}

    def declare(self, prefix: str, *fields: Field) -> Button:
        """Declare a kind of button; a prefix declared twice is a bug, found at import."""
        if prefix in self._buttons:
            raise ValueError(f"button prefix {prefix!r} is declared twice")
        if not all(_WORD.fullmatch(part) for part in prefix.split(":")):
            raise ValueError(f"not a button prefix: {prefix!r}")
        made = Button(prefix, tuple(fields))
        self._buttons[prefix] = made
        return made

    def find(self, data: str) -> tuple[Button, tuple[Any, ...]] | None:
        """The declared button ``data`` is, and its values; the longest prefix wins
        (``pc:go`` before ``pc``)."""
        parts = data.split(":")
        for cut in range(len(parts), 0, -1):
            made = self._buttons.get(":".join(parts[:cut]))
            if made is None:
                continue
            values = _parse_fields(made.fields, parts[cut:])
            if values is not None:
                return made, values
        return None

    def prefixes(self) -> Sequence[str]:
        return sorted(self._buttons)


def _parse_fields(fields: tuple[Field, ...], texts: list[str]) -> tuple[Any, ...] | None:
    if len(texts) != len(fields):
        return None
    values = []
    for field, text in zip(fields, texts, strict=True):
        value = field.parse(text)
        if value is None:
            return None
        values.append(value)
    return tuple(values)


BUTTONS = Registry()
button = BUTTONS.declare


def parse(data: object) -> tuple[Button, tuple[Any, ...]] | None:
    """Any declared button's values, or None for data no button of yishi's could carry."""
    if not isinstance(data, str) or len(data.encode()) > DATA_MAX_BYTES:
        return None
    return BUTTONS.find(data)

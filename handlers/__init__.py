"""Telegram-facing adapters. Each feature is a package (or, when small, a module) exposing
``register(app)``; this file holds the one ordered list of them and the named handler
groups they register into.

PTB runs the handler groups in ascending order, and within a group the first handler that
matches wins. What runs where:

- ``BEGIN``: the bot starts noting what this update's handling sends (bot/transcript.py).
- ``GUARD`` (bot/inbox.py): an update already handled before a crash goes no further.
- ``BUTTONS``: a button press whose data is none of the buttons declared in bot/buttons.py
  (an unknown prefix, a malformed or forged one) is answered "this button is out of date"
  and goes no further.
- ``VOTES``: vote buttons, taken before anything else sees them and stopped there (a vote
  is a vote whatever flow the person is in, and a burst must not visit every feature).
- ``FLOOD``: a person's commands beyond a burst are ignored (handlers/flood.py).
- ``ONE_FLOW``: someone in one flow who starts another is asked whether to leave the
  first, and the start waits for the answer (handlers/flows.py).
- ``SPEAKERS``: noting who speaks in a group; never stops a command.
- ``FEATURES`` (PTB's default group 0): the features, in :data:`FEATURES`'s order.
- ``PERSISTENCE``: after everything, the bookkeeping every update ends with
  (handlers/flows.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.context import YishiApp

GUARD = -1000  # the same as bot.inbox.GUARD_GROUP (bot/ cannot import handlers/)
BEGIN = GUARD - 1
BUTTONS = GUARD + 1
VOTES = GUARD + 2
FLOOD = GUARD + 3
ONE_FLOW = GUARD + 4
SPEAKERS = -1
FEATURES = 0
PERSISTENCE = 1000

Feature = Callable[["YishiApp"], None]


def register_all(app: YishiApp, extra_features: Sequence[Feature] = ()) -> None:
    """Every handler, in order. ``extra_features`` (tests) go where the built-in features
    are, before /start and the fallbacks."""
    from bot.inbox import register as register_inbox
    from handlers import (
        announcements,
        decisions,
        errors,
        export,
        flood,
        flows,
        groups,
        helping,
        lang,
        me,
        meetings,
        polls,
        questions,
        reports,
        residents,
        rewards,
        roles,
        settings,
        start,
        summary,
        surveys,
        topics,
        volunteering,
    )

    register_inbox(app)  # GUARD: an update handled before a crash is not handled again
    start.register_button_guard(app)  # BUTTONS
    flood.register(app)  # FLOOD
    # groups first: it notes speakers (SPEAKERS) and handles the bot's own membership and
    # a group's move to a supergroup before any feature sees the update.
    groups.register(app)
    lang.register(app)
    settings.register(app)
    roles.register(app)
    residents.register(app)  # /join, then the roster
    me.register(app)
    topics.register(app)
    polls.register(app)  # also its vote buttons, in VOTES
    reports.register(app)
    decisions.register(app)
    announcements.register(app)
    helping.register(app)
    volunteering.register(app)
    rewards.register(app)
    meetings.register(app)
    surveys.register(app)
    questions.register(app)  # under polls' notices and meetings' posts
    summary.register(app)
    export.register(app)  # /export P-n, M-n, S-n and reports, over several features
    for register in extra_features:
        register(app)
    # BEGIN, ONE_FLOW, the answer to "leave this flow?" and PERSISTENCE.
    flows.register(app)
    # Features come before /start, so a deep link a feature owns reaches its flow first;
    # the fallbacks come last in FEATURES, answering only what no feature took.
    start.register(app)
    start.register_fallbacks(app)
    errors.register(app)

"""Topics (议题众筹): residents propose, moderators approve, the group backs them with one
support each, and the weekly roundup puts the top ones to a vote or a meeting.

Callback data: ``tc:*`` the proposing flow, ``tp:<topic>:<action>`` moderation,
``tm:<topic>:<target>`` merging, ``sp:<topic>`` support. Every one is checked against the
database."""

from __future__ import annotations

import asyncio

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler
from telegram.ext import filters as F

from bot.buttons import any_of
from bot.context import YishiApp
from bot.domain.topics import prepare_similarity
from bot.i18n import N_
from handlers.flows import flow, private_flow
from handlers.moderators import on_review_copies
from handlers.topics import callbacks
from handlers.topics.jobs import (
    ASKED,
    arm_roundups,
    ask_after_meeting,
    ask_when_ready,
    asked,
    post_roundup,
    replan_roundup,
)
from handlers.topics.lifecycle import (
    MET,
    POSTED,
    READY,
    REVIEW_COPY,
    ROUNDUP,
    posted,
    review_copy_sent,
)
from handlers.topics.moderate import (
    MEETING_DATE,
    REASON,
    after_meeting,
    approve,
    ask_meeting_date,
    ask_reason,
    meeting_date_typed,
    merge,
    merge_choices,
    reason_typed,
    select_for_vote,
    toggle_urgent,
)
from handlers.topics.propose import (
    ANONYMITY,
    CATEGORY,
    DETAILS,
    PHOTO,
    SIMILAR,
    TITLE,
    anonymity_button,
    category_button,
    community_button,
    continue_anyway,
    details_typed,
    photo_sent,
    photo_skipped,
    support_instead,
    title_typed,
    topic_command,
    topic_from_link,
    topic_in_group,
)
from handlers.topics.support import list_topics, stale_topic_button, support_button


def register(app: YishiApp) -> None:
    typed = F.TEXT & ~F.COMMAND
    app.add_handler(CommandHandler("topic", topic_in_group, filters=F.ChatType.GROUPS))
    app.add_handler(private_flow(
        app, name="topic", command="topic", start=topic_command,
        doing=N_("proposing a topic"),
        from_link=topic_from_link, link="topic",
        states={
            TITLE: [CallbackQueryHandler(community_button, pattern=callbacks.PROPOSE_FOR.matches),
                    MessageHandler(typed, title_typed)],
            SIMILAR: [CallbackQueryHandler(support_instead,
                                           pattern=callbacks.SUPPORT_SIMILAR.matches),
                      CallbackQueryHandler(continue_anyway,
                                           pattern=callbacks.PROPOSE_ANYWAY.matches)],
            DETAILS: [MessageHandler(typed, details_typed)],
            CATEGORY: [CallbackQueryHandler(category_button, pattern=callbacks.CATEGORY.matches)],
            PHOTO: [MessageHandler(F.PHOTO, photo_sent),
                    CallbackQueryHandler(photo_skipped, pattern=callbacks.NO_PHOTO.matches)],
            ANONYMITY: [CallbackQueryHandler(anonymity_button,
                                             pattern=callbacks.ANONYMITY.matches)],
        },
    ))
    # Moderators answer a reason or a date in the chat where they pressed the button.
    app.add_handler(flow(
        app, name="topic_decision", command="topics",
        doing=N_("deciding on a topic"),
        entry_points=[CallbackQueryHandler(ask_reason,
                                           pattern=callbacks.MODERATE.matching(None, "no")),
                      CallbackQueryHandler(ask_reason,
                                           pattern=callbacks.SELECT.matching(None, "close")),
                      CallbackQueryHandler(ask_meeting_date,
                                           pattern=callbacks.SELECT.matching(None, "meet"))],
        states={REASON: [MessageHandler(F.TEXT & ~F.COMMAND, reason_typed)],
                MEETING_DATE: [MessageHandler(F.TEXT & ~F.COMMAND, meeting_date_typed)]},
    ))
    app.add_handler(CallbackQueryHandler(approve, pattern=callbacks.MODERATE.matching(None, "ok")))
    app.add_handler(CallbackQueryHandler(merge_choices,
                                         pattern=callbacks.MODERATE.matching(None, "mg")))
    app.add_handler(CallbackQueryHandler(merge, pattern=callbacks.MERGE_INTO.matches))
    app.add_handler(CallbackQueryHandler(select_for_vote,
                                         pattern=callbacks.SELECT.matching(None, "vote")))
    app.add_handler(CallbackQueryHandler(after_meeting,
                                         pattern=callbacks.SELECT.matching(None, "agreed")))
    app.add_handler(CallbackQueryHandler(after_meeting,
                                         pattern=callbacks.SELECT.matching(None, "back")))
    app.add_handler(CallbackQueryHandler(toggle_urgent,
                                         pattern=callbacks.SELECT.matching(None, "urgent")))
    app.add_handler(CallbackQueryHandler(support_button, pattern=callbacks.SUPPORT.matches))
    app.add_handler(CallbackQueryHandler(stale_topic_button,
                                         pattern=any_of(*callbacks.FLOWS)))
    app.add_handler(CommandHandler("topics", list_topics))
    services = app.bot_data.services
    services.scheduler.on(ROUNDUP, post_roundup, concurrent=True)
    services.scheduler.on(MET, ask_after_meeting)
    services.scheduler.on(READY, ask_when_ready)
    services.outbox.on_sent(POSTED, posted)
    on_review_copies(services.outbox, REVIEW_COPY, review_copy_sent)
    on_review_copies(services.outbox, ASKED, asked)
    services.startup.append(arm_roundups)
    services.startup.append(_load_segmenter)
    services.zone_changed.append(replan_roundup)


async def _load_segmenter(app: YishiApp) -> None:
    """Chinese word segmentation (for similar topics) loads its dictionary in a thread at
    start, not on a resident's first title."""
    await asyncio.to_thread(prepare_similarity)

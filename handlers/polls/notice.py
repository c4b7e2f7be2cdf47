"""The printable result notice (结果公示) of an owners' decision, posted in the group when
a Civil Code poll closes, as PDF and XLSX: the question, the rule, the totals,
participation and approval by area and by owners, the verdict, and per unit its area and
(for a public poll) its choice, or (for a secret one) only that it took part. Names never
appear in it."""

from __future__ import annotations

import asyncio
import html
import re
from datetime import datetime

from bot.domain.models import Community, Outgoing
from bot.domain.polls import Poll, Tally, Turnout, Verdict, area, m2, percent
from bot.exports import pdf_bytes, xlsx_bytes
from bot.i18n import Translator, translator
from handlers import outgoing
from handlers.polls.method_texts import ballot_words
from handlers.polls.texts import RULE_NAMES, _local, turnout_text, verdict_text
from storage import Connection, residents
from storage import polls as store


def _plain(text: str) -> str:
    """A message's HTML as plain text, for the printed page."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


async def result_notice(conn: Connection, poll: Poll, community: Community,
                        result: Tally, meaning: Verdict, figures: Turnout,
                        now: datetime) -> list[Outgoing]:
    """The notice's two files, queued for the group (after its quiet hours)."""
    _ = translator(community.language)
    title, paragraphs, table = await _content(conn, poll, community, result, meaning,
                                              figures, _)
    caption = _("{ref}: the result notice, to print and post in the building.").format(
        ref=poll.ref)
    later = community.quiet_until(now)
    # Drawn in a thread: a building of a thousand units is a long table, and the bot
    # keeps answering meanwhile.
    pdf = await asyncio.to_thread(pdf_bytes, title, paragraphs, table)
    xlsx = await asyncio.to_thread(xlsx_bytes, [[title], *[[p] for p in paragraphs]], table)
    return [
        outgoing.document(f"poll:{poll.id}:notice:pdf", community.chat_id, content=pdf,
                          filename=f"{poll.ref}-notice.pdf", caption=caption,
                          not_before=later),
        outgoing.document(f"poll:{poll.id}:notice:xlsx", community.chat_id, content=xlsx,
                          filename=f"{poll.ref}-notice.xlsx", caption=caption,
                          not_before=later),
    ]


async def _content(conn: Connection, poll: Poll, community: Community, result: Tally,
                   meaning: Verdict, figures: Turnout,
                   _: Translator) -> tuple[str, list[str], list[list[str]]]:
    roster = {h.unit_id: h for h in await residents.households(conn, poll.community_id)}
    opened = poll.opens_at or poll.created_at
    paragraphs = [
        _("Question: {question}").format(question=poll.question),
        _("Group: {group}").format(group=community.title),
        _("Rule: {rule}").format(rule=_(RULE_NAMES[poll.rule])),
        _("Voting: from {opens} to {closes} ({zone})").format(
            opens=_local(opened, community), closes=_local(poll.deadline, community),
            zone=community.timezone),
        _plain(turnout_text(figures, _)),
    ]
    if meaning.yes_area is not None and meaning.voting_area:
        paragraphs.append(_("Approval: {yes_area} of the {voting_area} m² that took part "
                            "({area_share}); {yes_owners} of the {voting_owners} owners who "
                            "took part ({owner_share})").format(
            yes_area=m2(meaning.yes_area), voting_area=m2(meaning.voting_area),
            area_share=percent(meaning.area_approval), yes_owners=meaning.yes_owners,
            voting_owners=meaning.voting_owners, owner_share=percent(meaning.owner_approval)))
    paragraphs += [
        *(f"{option}: {result.votes[i]}" for i, option in enumerate(poll.options)),
        _plain(verdict_text(poll, meaning, _)),
        _("Closed {when}. Names are not printed; the committee keeps the signed ballots and "
          "the vote log (/audit {ref}).").format(when=_local(poll.closed_at or poll.deadline,
                                                              community), ref=poll.ref),
    ]

    def unit(unit_id: int) -> tuple[str, str, str]:
        household = roster.get(unit_id)
        if household is None:
            return "", "", ""
        return (household.address.building, household.address.code,
                m2(area(household.area_m2)) if household.area_m2 is not None else "")

    if poll.secret:
        took_part = sorted(unit(u) for u in await store.units_voted(conn, poll.id))
        table = [[_("Unit"), _("Area (m²)"), _("Took part")],
                 *[[code, size, _("yes")] for _b, code, size in took_part]]
    else:
        rows = []
        for ballot in await store.ballot_rows(conn, poll.id):
            if ballot["unit_id"] is None:
                continue
            building, code, size = unit(ballot["unit_id"])
            choice = ballot_words(poll, ballot["choice"], _)
            if ballot["proxy_by"] is not None:
                choice = _("{choice} (paper)").format(choice=choice)
            rows.append((building, code, size, choice))
        table = [[_("Unit"), _("Area (m²)"), _("Choice")],
                 *[[code, size, choice] for _b, code, size, choice in sorted(rows)]]
    title = _("Result notice: {ref}").format(ref=poll.ref)
    return title, paragraphs, table

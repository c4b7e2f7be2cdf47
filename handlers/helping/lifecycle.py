"""The business actions of neighbours' help, each one transaction that also queues what it
owes the world (bot/outbox.py): posted, answered, a helper chosen, withdrawn, how long it
took, confirmed (credits and points). A moderator's reversals are in reversals.py.

Each returns ``None`` when done, or a :class:`HelpError` code saying why nothing changed."""

from __future__ import annotations

import html
import secrets
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.domain.helping import (
    ASK_AFTER,
    Audience,
    EntryKind,
    Help,
    HelpError,
    HelpStatus,
    Kind,
    Side,
    credits,
    hours,
    may_answer,
    may_cancel,
    may_choose,
    may_claim,
    may_confirm,
    shown,
)
from bot.domain.models import Community
from bot.domain.points import Action
from bot.i18n import N_, Translator, translator
from bot.points import award
from bot.services import Services
from handlers import outgoing
from handlers.helping import callbacks
from handlers.helping.texts import KIND_NAMES, card, card_buttons, claim_buttons, local
from storage import Connection, audit, communities, due_work, outbox, people
from storage import helping as store

ASK = "help_ask"  # due work: after the agreed time, ask how it went
POSTED = "help_post"  # the outbox noting where the post is


def kind_name(kind: Kind, _: Translator) -> str:
    """A kind of service by name, for the features that reuse the kinds."""
    return _(KIND_NAMES[kind])


def _name(found: dict[int, Any], user_id: int | None) -> str:
    person = found.get(user_id) if user_id is not None else None
    return person.name if person is not None else "?"


async def _post_text(conn: Connection, help_: Help, community: Community
                     ) -> tuple[str, Any]:
    _ = translator(community.language)
    found = await people.names(conn, [help_.author_id])
    answers = len(await store.answered(conn, help_.id))
    return (card(help_, community, _name(found, help_.author_id), answers, _),
            card_buttons(help_, _))


async def publish(conn: Connection, services: Services, community: Community, *,
                  moderators: list[int], draft: dict[str, Any], author_id: int,
                  now: datetime) -> Help:
    """Post a request or an offer (to the group, or to the moderators in private) and arm
    the question of how it went."""
    made = await store.create(
        conn, community_id=community.id, side=Side(draft["side"]), kind=draft["kind"],
        author_id=author_id, text=draft["text"],
        starts_at=datetime.fromisoformat(draft["starts_at"]), minutes=draft["minutes"],
        audience=Audience(draft["audience"]), now=now)
    text, markup = await _post_text(conn, made, community)
    if made.audience is Audience.GROUP:
        owed = [outgoing.message(f"help:{made.id}:post", community.chat_id, text,
                                 markup=markup, remember={
                                     "what": POSTED, "help": made.id,
                                     "shows": outgoing.shows(text, markup)})]
    else:
        note = N_("Only the moderators see this; find a neighbour who can help.")
        owed = await outgoing.to_people(
            conn, [m for m in moderators if m != author_id], f"help:{made.id}:moderators",
            services.default_language, lambda t: f"{text}\n\n<i>{t(note)}</i>",
            buttons=lambda t: card_buttons(made, t))
    await outbox.queue(conn, owed, now)
    await due_work.schedule(conn, kind=ASK, key=str(made.id),
                            due_at=made.ends_at + ASK_AFTER, now=now,
                            payload={"help": made.id})
    await audit.record(conn, community_id=community.id, actor_id=author_id,
                       action="help.post", at=now, details={"help": made.ref})
    return made


async def posted(conn: Connection, remember: dict[str, Any], answer: Any,
                 now: datetime) -> None:
    """The post is in the group: note where; if it moved on meanwhile, show that at once."""
    help_id = int(remember["help"])
    await store.posted(conn, help_id, int(answer["chat"]["id"]), int(answer["message_id"]),
                       str(remember.get("shows", "")))
    found = await store.get(conn, help_id)
    if found is not None:
        await refresh(conn, found, now)


async def refresh(conn: Connection, help_: Help, now: datetime) -> None:
    """Queue the post's edit to what it shows now, unless it shows that already."""
    # Read again under its row lock: the post's recording (posted) goes before or after
    # this action, never beside it, so one of the two renders what both did.
    help_ = await store.get(conn, help_.id, lock=True) or help_
    if help_.post_message_id is None or help_.post_chat_id is None:
        return  # not sent yet: :func:`posted` shows the state when it is
    community = await communities.by_id(conn, help_.community_id)
    if community is None:
        return
    text, markup = await _post_text(conn, help_, community)
    shows = outgoing.shows(text, markup)
    # The row notes what the post shows, in this transaction: run again, this action finds
    # it shown and queues nothing; the key need only be new.
    if not await store.showing(conn, help_.id, shows):
        return
    await outbox.queue(conn, [outgoing.edit_text(
        f"help:{help_.id}:edit:{shows}:{secrets.token_hex(8)}", help_.post_chat_id,
        help_.post_message_id, text, markup=markup)], now)


async def answer(conn: Connection, services: Services, help_id: int, user_id: int,
                 now: datetime) -> tuple[str | None, Help | None]:
    """A neighbour answers: the author is asked, in private, whether to choose them."""
    found = await store.get(conn, help_id)
    if found is None:
        return "gone", None
    try:
        may_answer(found, user_id)
    except HelpError as exc:
        return exc.code, found
    person = await people.get(conn, user_id)
    if person is None or not person.started:
        return "not_started", found  # if chosen, they could not be told
    if not await store.answer(conn, help_id, user_id, now):
        return "again", found
    names = await people.names(conn, [user_id])
    community = await communities.by_id(conn, found.community_id)
    assert community is not None
    who = html.escape(_name(names, user_id))
    text = N_("{name} can help with {ref}. Choose them?") if found.side is Side.NEED else \
        N_("{name} would like what you offered in {ref}. Choose them?")
    # Named by the answer's place, not by who answered (a key outlives /forgetme).
    place = len(await store.answered(conn, help_id))
    owed = await outgoing.to_people(
        conn, [found.author_id], f"help:{help_id}:answered:{place}",
        services.default_language, lambda _: _(text).format(ref=found.ref, name=who),
        buttons=lambda _: _choose_buttons(found, user_id, names, _))
    await outbox.queue(conn, owed, now)
    await refresh(conn, found, now)
    return None, found


def _choose_buttons(help_: Help, user_id: int, names: dict[int, Any], _: Translator
                    ) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        _("Choose {name}").format(name=_name(names, user_id)),
        callback_data=callbacks.CHOOSE.data(help_.id, user_id))]])


async def choose(conn: Connection, services: Services, help_id: int, user_id: int,
                 chosen: int, now: datetime) -> tuple[str | None, Help | None]:
    """The author chooses one who answered; both are told, the others thanked."""
    found = await store.get(conn, help_id)
    if found is None:
        return "gone", None
    answered = await store.answered(conn, help_id)
    try:
        may_choose(found, user_id, chosen, set(answered))
    except HelpError as exc:
        return exc.code, found
    if not await store.change(conn, help_id, now, expected={HelpStatus.OPEN},
                              status=HelpStatus.MATCHED, partner_id=chosen):
        return "not_open", found
    matched = await store.get(conn, help_id)
    assert matched is not None
    community = await communities.by_id(conn, matched.community_id)
    assert community is not None
    names = await people.names(conn, [matched.author_id, chosen])
    when = local(matched.starts_at, community)

    def contact(user: int) -> str:
        person = names.get(user)
        at = f" (@{person.username})" if person is not None and person.username else ""
        return html.escape(_name(names, user) + at)

    default = services.default_language
    owed = await outgoing.to_people(
        conn, [chosen], f"help:{help_id}:chosen", default,
        lambda _: _("{name} chose you for {ref}, {when}. Please get in touch. Afterwards I "
                    "will ask you how long it took.").format(
            name=contact(matched.author_id), ref=matched.ref, when=when))
    owed += await outgoing.to_people(
        conn, [matched.author_id], f"help:{help_id}:you_chose", default,
        lambda _: _("You chose {name} for {ref}, {when}. I have told them.").format(
            name=contact(chosen), ref=matched.ref, when=when),
        buttons=lambda _: withdraw_button(matched, _))
    owed += await outgoing.to_people(
        conn, [a for a in answered if a != chosen], f"help:{help_id}:thanks", default,
        lambda _: _("Thank you for answering {ref}; another neighbour was chosen this "
                    "time.").format(ref=matched.ref))
    await outbox.queue(conn, owed, now)
    await refresh(conn, matched, now)
    return None, matched


def withdraw_button(help_: Help, _: Translator) -> InlineKeyboardMarkup:
    label = _("Withdraw my request") if help_.side is Side.NEED else _("Withdraw my offer")
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        label, callback_data=callbacks.WITHDRAW.data(help_.id))]])


async def withdraw(conn: Connection, services: Services, help_id: int, user_id: int,
                   now: datetime) -> tuple[str | None, Help | None]:
    found = await store.get(conn, help_id)
    if found is None:
        return "gone", None
    try:
        may_cancel(found, user_id)
    except HelpError as exc:
        return exc.code, found
    if not await store.change(conn, help_id, now, expected={HelpStatus.OPEN,
                                                            HelpStatus.MATCHED},
                              status=HelpStatus.CANCELLED):
        return "too_late", found
    await due_work.cancel(conn, kind=ASK, key=str(help_id))
    if found.partner_id is not None:
        owed = await outgoing.to_people(
            conn, [found.partner_id], f"help:{help_id}:withdrawn", services.default_language,
            lambda _: _("{ref} was withdrawn: it is no longer needed. Thank you all the "
                        "same.").format(ref=found.ref))
        await outbox.queue(conn, owed, now)
    done = await store.get(conn, help_id)
    assert done is not None
    await refresh(conn, done, now)
    return None, done


async def ask_how_it_went(conn: Connection, services: Services, help_id: int,
                          now: datetime) -> None:
    """Due work: the time has passed. A matched piece of help: the helper says how long it
    took. One nobody was chosen for is closed, and its author told."""
    found = await store.get(conn, help_id)
    if found is None:
        return
    default = services.default_language
    if found.status is HelpStatus.OPEN:
        await store.change(conn, help_id, now, expected={HelpStatus.OPEN},
                           status=HelpStatus.CANCELLED)
        owed = await outgoing.to_people(
            conn, [found.author_id], f"help:{help_id}:lapsed", default,
            lambda _: _("The time of {ref} has passed without a neighbour chosen, so I "
                        "closed it. Send /needhelp or /offerhelp to post it again.").format(
                ref=found.ref))
        await outbox.queue(conn, owed, now)
        closed = await store.get(conn, help_id)
        assert closed is not None
        await refresh(conn, closed, now)
        return
    if found.status is not HelpStatus.MATCHED or found.helper_id is None:
        return
    names = await people.names(conn, [found.helped_id or 0])
    owed = await outgoing.to_people(
        conn, [found.helper_id], f"help:{help_id}:ask", default,
        lambda _: _("How did {ref} with {name} go? How long did it take?").format(
            ref=found.ref, name=html.escape(_name(names, found.helped_id))),
        buttons=lambda _: claim_buttons(found, _))
    await outbox.queue(conn, owed, now)


async def claim(conn: Connection, services: Services, help_id: int, user_id: int,
                half_hours: int, now: datetime) -> tuple[str | None, Help | None]:
    """The helper says how long it took (or that it did not happen); the person helped is
    asked to confirm."""
    found = await store.get(conn, help_id)
    if found is None:
        return "gone", None
    try:
        may_claim(found, user_id, now)
    except HelpError as exc:
        return exc.code, found
    expected = {HelpStatus.MATCHED, HelpStatus.CLAIMED}
    default = services.default_language
    assert found.helped_id is not None
    names = await people.names(conn, [user_id, found.helped_id])
    helper = html.escape(_name(names, user_id))
    if half_hours == 0:
        await store.change(conn, help_id, now, expected=expected,
                           status=HelpStatus.NOT_HAPPENED, claimed_minutes=None)
        await outbox.queue(conn, await outgoing.to_people(
            conn, [found.helped_id], f"help:{help_id}:not_happened", default,
            lambda _: _("{name} says {ref} did not happen. Nothing was entered in the time "
                        "bank.").format(name=helper, ref=found.ref)), now)
    else:
        minutes = half_hours * 30
        await store.change(conn, help_id, now, expected=expected,
                           status=HelpStatus.CLAIMED, claimed_minutes=minutes)
        claimed = await store.get(conn, help_id)
        assert claimed is not None
        rates = await store.rates(conn, found.community_id, services.settings.timebank.rates)
        worth = credits(minutes, rates.of(found.kind))
        have = await store.balance(conn, found.community_id, found.helped_id)
        await outbox.queue(conn, await outgoing.to_people(
            conn, [found.helped_id], f"help:{help_id}:confirm:{int(now.timestamp())}",
            default,
            lambda _: _("{name} says helping you with {ref} took {hours} h. Is that right? "
                        "Confirming puts {credits} credits in their time bank.").format(
                name=helper, ref=found.ref, hours=hours(minutes), credits=shown(worth)),
            buttons=lambda _: _confirm_buttons(claimed, worth, have, _)), now)
    changed = await store.get(conn, help_id)
    assert changed is not None
    await refresh(conn, changed, now)
    return None, changed


def _confirm_buttons(help_: Help, worth: int, have: int, _: Translator
                     ) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(_("Yes, thank you"),
                                  callback_data=callbacks.CONFIRM.data(help_.id, "yes"))]]
    if have >= worth > 0:
        rows.append([InlineKeyboardButton(
            _("Yes, and pay {credits} from my time bank").format(credits=shown(worth)),
            callback_data=callbacks.CONFIRM.data(help_.id, "pay"))])
    rows.append([InlineKeyboardButton(_("No, that is not right"),
                                      callback_data=callbacks.CONFIRM.data(help_.id, "no"))])
    return InlineKeyboardMarkup(rows)


async def confirm(conn: Connection, services: Services, help_id: int, user_id: int,
                  answer_: str, now: datetime) -> tuple[str | None, Help | None, int]:
    """The person helped confirms: the hours go into the helper's time bank at the kind's
    rate, with the neighbour-help points; paying withdraws the same from the confirmer.
    Returns the code, the help and the credits deposited (hundredths)."""
    found = await store.get(conn, help_id)
    if found is None:
        return "gone", None, 0
    try:
        may_confirm(found, user_id)
    except HelpError as exc:
        return exc.code, found, 0
    assert found.helper_id is not None and found.claimed_minutes is not None
    default = services.default_language
    names = await people.names(conn, [user_id, found.helper_id])
    if answer_ == "no":
        await store.change(conn, help_id, now, expected={HelpStatus.CLAIMED},
                           status=HelpStatus.MATCHED, claimed_minutes=None)
        back = await store.get(conn, help_id)
        assert back is not None
        await outbox.queue(conn, await outgoing.to_people(
            conn, [found.helper_id], f"help:{help_id}:disputed:{int(now.timestamp())}",
            default, lambda _: _("{name} did not confirm {hours} h for {ref}. Please talk it "
                                 "over, then tell me again how long it took.").format(
                name=html.escape(_name(names, user_id)), hours=hours(found.claimed_minutes
                                                                      or 0), ref=found.ref),
            buttons=lambda _: claim_buttons(back, _)), now)
        return None, back, 0
    community = await communities.by_id(conn, found.community_id)
    assert community is not None
    rates = await store.rates(conn, found.community_id, services.settings.timebank.rates)
    worth = credits(found.claimed_minutes, rates.of(found.kind))
    if answer_ == "pay":
        try:
            await store.enter(conn, community_id=found.community_id, user_id=user_id,
                              kind=EntryKind.WITHDRAWAL, amount=-worth, ref=found.ref, now=now)
        except store.Overdrawn:
            return "overdrawn", found, 0
    if not await store.change(conn, help_id, now, expected={HelpStatus.CLAIMED},
                              status=HelpStatus.DONE):
        return "not_claimed", found, 0
    await store.enter(conn, community_id=found.community_id, user_id=found.helper_id,
                      kind=EntryKind.DEPOSIT, amount=worth, ref=found.ref, now=now)
    await award(conn, services.settings.points, community, user_id=found.helper_id,
                action=Action.NEIGHBOUR_HELP, ref=found.ref, now=now)
    total = await store.balance(conn, found.community_id, found.helper_id)
    await outbox.queue(conn, await outgoing.to_people(
        conn, [found.helper_id], f"help:{help_id}:deposited", default,
        lambda _: _("{name} confirmed {ref}: {hours} h. {credits} credits are in your time "
                    "bank (now {total}). Thank you!").format(
            name=html.escape(_name(names, user_id)), ref=found.ref,
            hours=hours(found.claimed_minutes or 0), credits=shown(worth),
            total=shown(total))), now)
    done = await store.get(conn, help_id)
    assert done is not None
    await audit.record(conn, community_id=found.community_id, actor_id=user_id,
                       action="help.confirm", at=now,
                       details={"help": found.ref, "minutes": found.claimed_minutes,
                                "credits": worth, "paid": answer_ == "pay"})
    await refresh(conn, done, now)
    return None, done, worth

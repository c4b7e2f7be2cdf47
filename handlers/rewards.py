"""Rewards (积分兑换): the committee's small catalogue, and points that can be spent.

/rewards lists the catalogue (G-1, G-2 …: a name, a price in points, the stock). In
private each reward has a button; a resident confirms, and in one transaction the stock
goes down by one and the points are spent (never more than they have, never twice for one
confirmation); the moderators are told in private and mark it delivered, and the resident
hears of it. Moderators keep the catalogue in the group: ``/rewards add PRICE STOCK NAME``,
``/rewards stock G-1 N``, ``/rewards remove G-1``.

Callback data: ``gr:<reward>`` redeem, ``gy:<reward>`` sure, ``gd:<redemption>`` delivered."""

from __future__ import annotations

import html
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.buttons import Id, button
from bot.context import YishiApp, YishiContext
from bot.domain.models import Community, Role
from bot.domain.rewards import NAME_MAX, PRICE_MAX, STOCK_MAX, Reward
from bot.domain.typed import visible
from bot.i18n import N_, Translator, translator
from handlers import outgoing
from handlers.common import (
    communities_of,
    ensure_community,
    person_translator,
    record_audit,
    refuse,
    role_of,
    user_role,
)
from handlers.moderators import moderator_ids
from storage import communities, outbox, people
from storage import rewards as store

REDEEM = button("gr", Id)
SURE = button("gy", Id)
DELIVERED = button("gd", Id)


def _line(reward: Reward, _: Translator) -> str:
    stock = _("{count} left").format(count=reward.stock) if reward.stock else _("out of stock")
    return _("{ref} {name} — {price} points ({stock})").format(
        ref=reward.ref, name=html.escape(reward.name), price=reward.price, stock=stock)


async def rewards_command(update: Update, context: YishiContext) -> None:
    chat = update.effective_chat
    if chat is not None and chat.type != chat.PRIVATE:
        await _in_group(update, context)
    else:
        await _mine(update, context)


async def _mine(update: Update, context: YishiContext) -> None:
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    _ = await person_translator(update, context)
    mine = await communities_of(context, user.id)
    if not mine:
        await message.reply_text(_("I do not know your building's group yet."))
        return
    parts, rows = [], []
    async with context.services.db.transaction() as conn:
        for community in mine:
            have = await store.spendable(conn, community.id, user.id)
            offered = await store.catalogue(conn, community.id)
            lines = [_("<b>Rewards in {group}</b>: you have {points} points to spend.").format(
                group=html.escape(community.title), points=have)]
            lines += [_line(r, _) for r in offered] or [_("The committee has no rewards "
                                                          "yet.")]
            parts.append("\n".join(lines))
            rows += [[InlineKeyboardButton(_("Redeem {ref} ({price})").format(
                ref=r.ref, price=r.price), callback_data=REDEEM.data(r.id))]
                for r in offered if r.stock > 0 and r.price <= have]
    await message.reply_text("\n\n".join(parts),
                             reply_markup=InlineKeyboardMarkup(rows) if rows else None)


async def _in_group(update: Update, context: YishiContext) -> None:
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    args = context.args or []
    if args and args[0].lower() in ("add", "stock", "remove"):
        if await role_of(context, community, update) is not Role.MODERATOR:
            await message.reply_text(_("Sorry, only the group's moderators can do that. "
                                       "Nothing was changed."))
            return
        answer = await _manage(update, context, community, args[0].lower(), args[1:], _)
        await message.reply_text(answer)
        return
    async with context.services.db.transaction() as conn:
        offered = await store.catalogue(conn, community.id)
    lines = [_("<b>Rewards in {group}</b>").format(group=html.escape(community.title))]
    lines += [_line(r, _) for r in offered] or [_("The committee has no rewards yet.")]
    lines.append(_("Send /rewards to me in private to redeem one with your points."))
    await message.reply_text("\n".join(lines))


def _number(text: str, most: int) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and 0 <= int(text) <= most else None


def _ref(text: str) -> int | None:
    text = text.upper()
    return int(text[2:]) if text.startswith("G-") and text[2:].isascii() \
        and text[2:].isdigit() else None


async def _manage(update: Update, context: YishiContext, community: Community, what: str,
                  args: list[str], _: Translator) -> str:
    """A moderator's change to the catalogue; the answer to show."""
    services = context.services
    if what == "add":
        price = _number(args[0], PRICE_MAX) if args else None
        stock = _number(args[1], STOCK_MAX) if len(args) > 1 else None
        name = " ".join(visible(" ".join(args[2:])).split())
        if not price or stock is None or not name or len(name) > NAME_MAX:
            return _("Write it like this: /rewards add 50 3 Parking voucher (the price in "
                     "points, 1 to {price}; the stock; a name of at most {name} "
                     "characters). Nothing was changed.").format(price=PRICE_MAX,
                                                                  name=NAME_MAX)
        async with services.db.transaction() as conn:
            made = await store.add(conn, community.id, name, price, stock)
        await record_audit(context, community, update, "reward.add", reward=made.ref,
                           price=price, stock=stock)
        return _("Added {line}.").format(line=_line(made, _))
    number = _ref(args[0]) if args else None
    async with services.db.transaction() as conn:
        found = await store.by_number(conn, community.id, number) if number else None
    if found is None or not found.active:
        return _("There is no such reward. /rewards lists them.")
    if what == "remove":
        async with services.db.transaction() as conn:
            await store.withdraw(conn, found.id)
        await record_audit(context, community, update, "reward.remove", reward=found.ref)
        return _("{ref} is no longer offered.").format(ref=found.ref)
    stock = _number(args[1], STOCK_MAX) if len(args) > 1 else None
    if stock is None:
        return _("Write it like this: /rewards stock G-1 5. Nothing was changed.")
    async with services.db.transaction() as conn:
        await store.set_stock(conn, found.id, stock)
        changed = await store.get(conn, found.id)
    await record_audit(context, community, update, "reward.stock", reward=found.ref,
                       stock=stock)
    assert changed is not None
    return _("Now: {line}.").format(line=_line(changed, _))


async def _reward(context: YishiContext, reward_id: int, user_id: int
                  ) -> tuple[Reward, Community, int] | None:
    async with context.services.db.transaction() as conn:
        reward = await store.get(conn, reward_id)
        community = await communities.by_id(conn, reward.community_id) if reward else None
        have = await store.spendable(conn, reward.community_id, user_id) if reward else 0
    if reward is None or community is None or not reward.active:
        return None
    return reward, community, have


async def redeem_pressed(update: Update, context: YishiContext) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    values = REDEEM.parse(query.data)
    assert values is not None
    found = await _reward(context, values[0], user.id)
    if found is None:
        await refuse(update, context, N_("This button is out of date."))
        return
    reward, _community, have = found
    _ = await person_translator(update, context)
    await query.answer()
    await query.edit_message_text(
        _("Redeem {name} for {price} points? You have {points}.").format(
            name=html.escape(reward.name), price=reward.price, points=have),
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(
            _("Yes, redeem it"), callback_data=SURE.data(reward.id))]]))


class _Refused(Exception):
    def __init__(self, msgid: str, **values: Any) -> None:
        super().__init__(msgid)
        self.msgid, self.values = msgid, values


async def sure_pressed(update: Update, context: YishiContext) -> None:
    """Spent once: the stock and the points go down together, or nothing happens."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None and query.message is not None
    values = SURE.parse(query.data)
    assert values is not None
    found = await _reward(context, values[0], user.id)
    if found is None:
        await refuse(update, context, N_("This button is out of date."))
        return
    reward, community, have = found
    services = context.services
    moderators = await moderator_ids(context.bot, services, community)
    now = services.clock.now()
    token = f"{query.message.chat.id}:{query.message.message_id}"
    _ = await person_translator(update, context)
    try:
        async with services.db.transaction() as conn:
            try:
                made = await store.redeem(conn, reward, user.id, token, now)
            except store.SoldOut:
                raise _Refused(N_("Sorry, {ref} is out of stock.")) from None
            except store.NotEnoughPoints:
                raise _Refused(N_("You have {points} points to spend; {ref} costs {price}. "
                                  "Nothing was spent.")) from None
            if made is None:
                raise _Refused(N_("You redeemed this already."))
            names = await people.names(conn, [user.id])
            who = html.escape(names[user.id].name if user.id in names else "?")
            await outbox.queue(conn, await outgoing.to_people(
                conn, moderators, f"redemption:{made.id}", services.default_language,
                lambda _: _("{name} redeemed {ref} {reward} for {price} points in {group}. "
                            "Press the button once it is handed over.").format(
                    name=who, ref=reward.ref, reward=html.escape(reward.name),
                    price=reward.price, group=html.escape(community.title)),
                buttons=lambda _: InlineKeyboardMarkup([[InlineKeyboardButton(
                    _("Delivered"), callback_data=DELIVERED.data(made.id))]])), now)
    except _Refused as refused:
        await query.answer(_(refused.msgid).format(ref=reward.ref, points=have,
                                                   price=reward.price), show_alert=True)
        return
    services.outbox.kick()
    await query.answer()
    await query.edit_message_text(_("Redeemed {name} for {price} points. The committee has "
                                    "been told and will hand it over.").format(
        name=html.escape(reward.name), price=reward.price))


async def delivered_pressed(update: Update, context: YishiContext) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    values = DELIVERED.parse(query.data)
    assert values is not None
    services = context.services
    async with services.db.transaction() as conn:
        made = await store.redemption(conn, values[0])
        community = await communities.by_id(conn, made.community_id) if made else None
    if made is None or community is None \
            or await user_role(context, community, user.id) is not Role.MODERATOR:
        await refuse(update, context, N_("This button is out of date."))
        return
    now = services.clock.now()
    async with services.db.transaction() as conn:
        first = await store.deliver(conn, made.id, now)
        reward = await store.get(conn, made.reward_id)
        if first and reward is not None:
            await outbox.queue(conn, await outgoing.to_people(
                conn, [made.user_id], f"redemption:{made.id}:delivered",
                services.default_language,
                lambda _: _("{reward} ({ref}) has been handed over to you. Enjoy it!").format(
                    reward=html.escape(reward.name), ref=reward.ref)), now)
    _ = await person_translator(update, context)
    if not first:
        await refuse(update, context, N_("This was marked delivered before."))
        return
    services.outbox.kick()
    await query.answer()
    await query.edit_message_reply_markup(None)


def register(app: YishiApp) -> None:
    app.add_handler(CommandHandler("rewards", rewards_command))
    app.add_handler(CallbackQueryHandler(redeem_pressed, pattern=REDEEM.matches))
    app.add_handler(CallbackQueryHandler(sure_pressed, pattern=SURE.matches))
    app.add_handler(CallbackQueryHandler(delivered_pressed, pattern=DELIVERED.matches))

"""An anonymous group administrator (a message whose sender is the group itself) is a
moderator for every moderator command; where the work continues in private, the answer
says how, since the bot cannot write to the group's identity."""

from storage import decisions as decision_store
from tests.helpers import group_with_bot, introduce


async def _ask(api, tg, group, text):
    mark = api.mark()
    await tg.say_as_group(group, text)
    return await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)


async def test_an_anonymous_admin_moderates_everything(bot, api, tg, clock):
    group, owner, stored = await group_with_bot(bot, api, tg, "Elm House")
    dee = tg.person("Dee", username="dee", language_code="en")
    await introduce(bot, tg, group, dee)
    async with bot.services.db.transaction() as conn:
        await decision_store.create(conn, community_id=stored.id, title="Repaint the lobby",
                                    poll_id=None, topic_id=None, now=clock.now())

    announce = await _ask(api, tg, group, "/announce")
    assert announce.text == (
        "公告在和我的私聊里编写，然后发到这里。你正在以群的身份发言，我无法私聊你："
        "请用你自己的账号打开下面的按钮（你是管理员，可以在那里继续）。")
    assert "url" in announce.buttons[0]
    listing = await _ask(api, tg, group, "/announcements")
    assert "抱歉" not in listing.text
    new = await _ask(api, tg, group, "/decisions new")
    assert new.text.endswith("。你正在以群的身份发言，我无法私聊你：请用你自己的账号打开下面的按钮"
                             "（你是管理员，可以在那里继续）。") and "url" in new.buttons[0]
    owner_set = await _ask(api, tg, group, "/decision D-1 owner @dee")
    assert owner_set.text == "D-1 现在由 Dee 负责。"
    due = await _ask(api, tg, group, "/decision D-1 due 2026-12-20")
    assert due.text == "D-1 的截止日期是 2026-12-20 18:00。"
    blocked = await _ask(api, tg, group, "/decision D-1 blocked 等报价")
    assert "抱歉" not in blocked.text
    async with bot.services.db.transaction() as conn:
        decision = await decision_store.by_number(conn, stored.id, 1)
    assert decision.owner_id == dee.id and decision.status.value == "blocked"
    # A resident who is not an administrator is still refused (the owner may block or
    # cancel, not move the due date).
    await bot.settled()  # the blocked decision's card is out first
    mark = api.mark()
    await tg.say(group, dee, "/decision D-1 due 2026-12-30")
    refused = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    assert refused.text.startswith("抱歉")

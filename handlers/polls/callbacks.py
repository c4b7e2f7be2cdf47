"""The buttons of polls, declared in the one registry (bot/buttons.py)."""

from bot.buttons import Choice, Id, Index, Word, button
from bot.domain.polls import OPTIONS_MAX

# In the group: a vote (v:<poll>:<option>) and, for the moderators, a poll's controls.
VOTE = button("v", Id, Index(OPTIONS_MAX))
MANAGE = button("pm", Id, Choice("close", "extend", "cancel", "proxy"))
# A paper ballot entered by a moderator: the option.
PROXY_OPTION = button("pp", Index(OPTIONS_MAX))
# The creation flow, in private.
CREATE_FOR = button("pc:g", Id)  # which group
YES_NO_ABSTAIN = button("pc:o:yna")
DEADLINE = button("pc:d", Word)  # 1d, 3d, 1w
SETTING = button("pc:s", Choice("audience", "weighting", "rule", "multiple", "live", "scope",
                                "secret", "notice", "material", "method"))
# A setting's chooser: the setting and the value chosen ("back": the preview again).
CHOOSE = button("pc:c", Choice("audience", "weighting", "rule", "multiple", "live", "secret",
                               "notice", "method"), Word)
PUBLISH = button("pc:go")
EDIT = button("pc:e")
DISCARD = button("pc:x")

# A ballot of a method other than one choice, in private (handlers/polls/private.py): the
# group post's "Vote" button, and in private the form, whose buttons carry the ballot as
# filled in so far ("s" and a digit per place), so nothing of it is lost in a restart.
VOTE_PRIVATELY = button("pv", Id)
FORM = button("pf", Id, Word)  # show the form with this ballot
CAST = button("pf:ok", Id, Word)  # cast this ballot
WITHDRAW = button("pf:no", Id)
OBJECT = button("pf:ob", Id)  # consent: object, then type the reason
# A consent poll closed with objections: its moderator amends the proposal and asks again.
AMEND = button("pa", Id)

PROXY = (PROXY_OPTION,)
# What a moderator presses: a flow's button pressed outside its flow is out of date.
MODERATORS = (MANAGE, *PROXY, CREATE_FOR, YES_NO_ABSTAIN, DEADLINE, SETTING, CHOOSE, PUBLISH,
              EDIT, DISCARD)

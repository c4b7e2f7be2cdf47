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
                                "secret", "notice", "material"))
# A setting's chooser: the setting and the value chosen ("back": the preview again).
CHOOSE = button("pc:c", Choice("audience", "weighting", "rule", "multiple", "live", "secret",
                               "notice"), Word)
PUBLISH = button("pc:go")
EDIT = button("pc:e")
DISCARD = button("pc:x")

PROXY = (PROXY_OPTION,)
# What a moderator presses: a flow's button pressed outside its flow is out of date.
MODERATORS = (MANAGE, *PROXY, CREATE_FOR, YES_NO_ABSTAIN, DEADLINE, SETTING, CHOOSE, PUBLISH,
              EDIT, DISCARD)

"""The buttons of neighbours' help and the time bank, declared in the one registry
(bot/buttons.py)."""

from bot.buttons import Choice, Id, Index, button
from bot.domain.helping import HALF_HOURS_MAX, Audience, Kind

# Asking or offering, in private: which group, which kind, how long, who sees it.
FOR = button("hc:g", Id)
KIND = button("hc:k", Choice(*(k.value for k in Kind)))
LENGTH = button("hc:l", Index(HALF_HOURS_MAX + 1))
AUDIENCE = button("hc:a", Choice(*(a.value for a in Audience)))
# On the post: "I can help" / "I would like that". To the author: choose one, withdraw.
ANSWER = button("ha", Id)
CHOOSE = button("hs", Id, Id)
WITHDRAW = button("hx", Id)
# After the time: the helper says how long it took (0: it did not happen); the person
# helped confirms, pays from their own credits, or says it is not right.
CLAIM = button("hh", Id, Index(HALF_HOURS_MAX + 1))
CONFIRM = button("hy", Id, Choice("yes", "pay", "no"))
# Giving credits to one's household: to whom, how much, sure; the receiver accepts.
GIVE_TO = button("tg:p", Id, Id)  # community, receiver
GIVE_AMOUNT = button("tg:a", Id, Id, Id)  # community, receiver, hundredths
GIVE_SURE = button("tg:s", Id, Id, Id)
ACCEPT = button("tg:c", Id, Choice("yes", "no"))  # the transfer

ALL = (FOR, KIND, LENGTH, AUDIENCE, ANSWER, CHOOSE, WITHDRAW, CLAIM, CONFIRM, GIVE_TO,
       GIVE_AMOUNT, GIVE_SURE, ACCEPT)

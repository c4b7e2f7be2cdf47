"""The tables. Migrations in storage/migrations create and change them; keep both in step."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)

from storage.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

communities = Table(
    "communities",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("chat_id", BigInteger, nullable=False, unique=True),
    Column("title", String(255), nullable=False),
    Column("language", String(8), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("quiet_hours", String(16), nullable=False),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("leaderboard", Boolean, nullable=False, server_default=true()),
    # Supporters at which a topic goes to the moderators at once (NULL: off).
    Column("support_threshold", Integer, nullable=True),
    # Months between satisfaction survey rounds (NULL: quarterly; 0: none).
    Column("survey_months", Integer, nullable=True),
    # Days a decision is posted for objection unless the moderator says (NULL: config's).
    Column("objection_days", Integer, nullable=True),
    # The moderators' own group chat, where join requests go; linked with a one-time code.
    Column("moderators_chat_id", BigInteger, nullable=True, unique=True),
    Column("link_code", String(16), nullable=True),
    # Where new issue reports go instead of each handler in private; linked the same way.
    Column("handlers_chat_id", BigInteger, nullable=True, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

people = Table(
    "people",
    metadata,
    Column("user_id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(255), nullable=False),
    Column("username", String(64), nullable=True, index=True),
    Column("language", String(8), nullable=True),
    Column("app_language", String(8), nullable=True),
    Column("public_name", String(8), nullable=False, server_default="initials"),
    Column("started", Boolean, nullable=False, server_default=false()),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

memberships = Table(
    "memberships",
    metadata,
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="CASCADE"),
           primary_key=True),
    Column("user_id", BigInteger, ForeignKey("people.user_id", ondelete="CASCADE"),
           primary_key=True),
    Column("role", String(16), nullable=False),
    # A handler's report categories; NULL means all of them.
    Column("categories", JSON, nullable=True),
    Column("granted_by", BigInteger, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="SET NULL"),
           nullable=True),
    Column("actor_id", BigInteger, nullable=True),
    Column("action", String(64), nullable=False),
    Column("details", JSON, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_audit_log_community_at", "community_id", "at"),
)

# A unit (专有部分) is a household; its area is what area-weighted votes count.
units = Table(
    "units",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="CASCADE"),
           nullable=False),
    Column("building", String(8), nullable=False),
    Column("staircase", String(8), nullable=False, server_default=""),
    Column("room", String(8), nullable=False),
    Column("area_m2", Float, nullable=True),
    Column("voter_id", BigInteger, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("community_id", "building", "staircase", "room"),
)

# The building's register: who owns each unit on record, whether or not they are on
# Telegram (user_id once linked); the developer for units not yet sold or delivered.
unit_owners = Table(
    "unit_owners",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="CASCADE"),
           nullable=False),
    Column("unit_id", Integer, ForeignKey("units.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("user_id", BigInteger, nullable=True),
    Column("developer", Boolean, nullable=False, server_default=false()),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("unit_id", "name", name="uq_unit_owners_unit_name"),
    Index("ix_unit_owners_community", "community_id"),
)

# A person's tie to a unit: asked for with /join (pending), then verified or rejected
# by a moderator; or added by a moderator directly.
residents = Table(
    "residents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="CASCADE"),
           nullable=False),
    Column("user_id", BigInteger, ForeignKey("people.user_id", ondelete="CASCADE"),
           nullable=False),
    Column("unit_id", Integer, ForeignKey("units.id", ondelete="CASCADE"), nullable=False),
    Column("relation", String(8), nullable=False),
    Column("status", String(10), nullable=False),
    Column("area_claimed", Float, nullable=True),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("decided_by", BigInteger, nullable=True),
    # Where the request was shown to moderators, so every copy can be updated.
    Column("notices", JSON, nullable=False),
    UniqueConstraint("community_id", "user_id", "unit_id"),
    Index("ix_residents_community_status", "community_id", "status"),
    Index("ix_residents_user_id", "user_id"),
    Index("ix_residents_unit_id", "unit_id"),
)

# The points ledger: one row per act; the unique key makes an act earn once.
points_ledger = Table(
    "points_ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="CASCADE"),
           nullable=False),
    Column("user_id", BigInteger, ForeignKey("people.user_id", ondelete="CASCADE"),
           nullable=False),
    Column("action", String(32), nullable=False),
    Column("points", Integer, nullable=False),
    Column("ref", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("revoked_by", BigInteger, nullable=True),
    UniqueConstraint("community_id", "user_id", "action", "ref"),
    Index("ix_points_ledger_community_at", "community_id", "at"),
)

# Topics (议题). An anonymous topic stores no author at all; only topic_quota counts how
# many topics a person proposed in a week, to enforce the limit.
topics = Table(
    "topics",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="CASCADE"),
           nullable=False),
    Column("number", Integer, nullable=False),
    Column("title", String(80), nullable=False),
    Column("details", Text, nullable=False),
    Column("category", String(32), nullable=False),
    Column("photo_file_id", String(256), nullable=True),
    Column("author_id", BigInteger, ForeignKey("people.user_id", ondelete="SET NULL"),
           nullable=True),
    Column("anonymous", Boolean, nullable=False),
    Column("status", String(10), nullable=False),
    Column("urgent", Boolean, nullable=False, server_default=false()),
    Column("reason", Text, nullable=True),
    Column("merged_into", Integer, nullable=True),
    Column("meeting_at", UTCDateTime, nullable=True),
    # Discussed at a round-table meeting: its reference and a link to its minutes.
    Column("discussed_at", String(16), nullable=True),
    Column("minutes_link", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("post_chat_id", BigInteger, nullable=True),
    Column("post_message_id", Integer, nullable=True),
    # A digest of what the post shows, so an edit that would change nothing is not sent.
    Column("post_digest", String(64), nullable=True),
    Column("notices", JSON, nullable=False),
    UniqueConstraint("community_id", "number"),
    Index("ix_topics_community_status", "community_id", "status"),
)

topic_supports = Table(
    "topic_supports",
    metadata,
    Column("topic_id", Integer, ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", BigInteger, ForeignKey("people.user_id", ondelete="CASCADE"),
           primary_key=True),
    Column("at", UTCDateTime, nullable=False),
)

topic_quota = Table(
    "topic_quota",
    metadata,
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="CASCADE"),
           primary_key=True),
    Column("user_id", BigInteger, ForeignKey("people.user_id", ondelete="CASCADE"),
           primary_key=True),
    Column("week", String(10), primary_key=True),
    Column("proposed", Integer, nullable=False),
)

# Polls. A ballot is one voter's current choice (or a household's, entered by proxy);
# every vote, change and proxy entry is also appended to poll_log, a hash chain.
polls = Table(
    "polls",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="CASCADE"),
           nullable=False),
    Column("number", Integer, nullable=False),
    Column("question", String(300), nullable=False),
    Column("options", JSON, nullable=False),
    Column("multiple", Boolean, nullable=False),
    Column("max_choices", Integer, nullable=False),
    Column("deadline", UTCDateTime, nullable=False),
    Column("audience", String(12), nullable=False),
    Column("scope_building", String(8), nullable=True),
    Column("scope_staircase", String(8), nullable=True),
    Column("weighting", String(10), nullable=False),
    Column("rule", String(16), nullable=False),
    Column("live_results", Boolean, nullable=False),
    Column("secret", Boolean, nullable=False, server_default=false()),
    # How a ballot is filled in (bot/domain/methods.py); "choice" is the buttons' one.
    Column("method", String(10), nullable=False, server_default="choice"),
    Column("status", String(10), nullable=False),
    Column("topic_id", Integer, ForeignKey("topics.id", ondelete="SET NULL"), nullable=True),
    Column("created_by", BigInteger, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("reason", Text, nullable=True),
    Column("result", JSON, nullable=True),
    Column("post_chat_id", BigInteger, nullable=True),
    Column("post_message_id", Integer, nullable=True),
    Column("post_digest", String(64), nullable=True),
    # A notice period (公示) before voting: voting opens by itself at opens_at; the
    # notice's background (text, photo, document) as JSON.
    Column("opens_at", UTCDateTime, nullable=True),
    Column("notice", JSON, nullable=True),
    # The vote log's head as posted in the group at closing: /audit compares against it.
    Column("head_hash", String(64), nullable=True),
    Column("head_entries", Integer, nullable=True),
    Column("head_chat_id", BigInteger, nullable=True),
    Column("head_message_id", Integer, nullable=True),
    # A consent proposal amended after objections asks again as a new poll naming this one.
    Column("amends", Integer, ForeignKey("polls.id", ondelete="SET NULL"), nullable=True),
    UniqueConstraint("community_id", "number"),
    Index("ix_polls_community_status", "community_id", "status"),
)

ballots = Table(
    "ballots",
    metadata,
    Column("poll_id", Integer, ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True),
    # "unit:<unit id>" in a poll that counts households (one ballot per unit, online or on
    # paper); "u:<user id>" for a person's own vote otherwise; "s:<pseudonym>" if secret.
    # (Polls from before 0011 may hold "p:<unit id>" proxy entries beside "u:" ones.)
    Column("voter_key", String(40), primary_key=True),
    Column("user_id", BigInteger, nullable=True),
    Column("unit_id", Integer, ForeignKey("units.id", ondelete="SET NULL"), nullable=True),
    Column("unit_key", String(40), nullable=True),
    Column("choice", JSON, nullable=False),
    Column("proxy_by", BigInteger, nullable=True),
    Column("signed_by", String(100), nullable=True),  # a paper ballot: who signed it
    # A secret ballot's time is the poll's opening, never the press's (see ballots.py).
    Column("at", UTCDateTime, nullable=False),
    Index("ix_ballots_poll_unit", "poll_id", "unit_id"),
)

# Ballots a moderator voided, with the reason: shown in the minutes, kept in the log.
ballot_voids = Table(
    "ballot_voids",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("poll_id", Integer, ForeignKey("polls.id", ondelete="CASCADE"), nullable=False),
    Column("unit_id", Integer, nullable=True),
    Column("choice", JSON, nullable=False),
    Column("signed_by", String(100), nullable=True),
    Column("paper", Boolean, nullable=False),
    Column("voided_by", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_ballot_voids_poll", "poll_id"),
)

# The reason each objection to a consent poll carries, by the ballot's key (never the
# voter's id); posted in the group without a name.
poll_objections = Table(
    "poll_objections",
    metadata,
    Column("poll_id", Integer, ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True),
    Column("voter_key", String(64), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

# A secret poll's ballots are keyed by an HMAC of the voter under this key; the key is
# destroyed when the poll closes, after which nobody can tell whose ballot is whose.
poll_keys = Table(
    "poll_keys",
    metadata,
    Column("poll_id", Integer, ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(64), nullable=False),
)

# Who took part in a secret poll (not what they chose).
poll_participants = Table(
    "poll_participants",
    metadata,
    Column("poll_id", Integer, ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", BigInteger, primary_key=True),
    Column("unit_id", Integer, nullable=True),
    Column("at", UTCDateTime, nullable=True),  # no longer written: it would match a ballot
)

# A secret poll that counts households: which household took part through whom (public,
# as taking part is; the choice is not). One row per unit.
poll_unit_voters = Table(
    "poll_unit_voters",
    metadata,
    Column("poll_id", Integer, ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", Integer, primary_key=True),
    Column("user_id", BigInteger, nullable=False),
)

# A salt per person: their public ballots and vote-log entries carry a hash of their id
# under it. /forgetme deletes it, after which nothing leads from the log back to them.
voter_salts = Table(
    "voter_salts",
    metadata,
    Column("user_id", BigInteger, primary_key=True, autoincrement=False),
    Column("salt", String(64), nullable=False),
)

poll_log = Table(
    "poll_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("poll_id", Integer, ForeignKey("polls.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("entry", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("poll_id", "seq"),
)

# What a passed poll (or a moderator) decided; the progress loop builds on it.
decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="CASCADE"),
           nullable=False),
    Column("title", String(300), nullable=False),
    Column("poll_id", Integer, ForeignKey("polls.id", ondelete="SET NULL"), nullable=True),
    Column("topic_id", Integer, ForeignKey("topics.id", ondelete="SET NULL"), nullable=True),
    Column("status", String(12), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # D-1, D-2 … per community.
    Column("number", Integer, nullable=False, server_default=text("0")),
    Column("owner_id", BigInteger, ForeignKey("people.user_id", ondelete="SET NULL"),
           nullable=True),
    Column("due_at", UTCDateTime, nullable=True),
    Column("progress", Integer, nullable=False, server_default=text("0")),
    Column("reason", Text, nullable=True),  # why it is blocked or cancelled
    Column("updated_at", UTCDateTime, nullable=True),
    Column("done_at", UTCDateTime, nullable=True),
    # The 回头看 rating post in the group.
    Column("rating_chat_id", BigInteger, nullable=True),
    Column("rating_message_id", Integer, nullable=True),
    UniqueConstraint("community_id", "number"),
)

decision_milestones = Table(
    "decision_milestones",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("decision_id", Integer, ForeignKey("decisions.id", ondelete="CASCADE"),
           nullable=False),
    Column("title", String(200), nullable=False),
    Column("done_at", UTCDateTime, nullable=True),
    Index("ix_decision_milestones_decision_id", "decision_id"),
)

# A decision's timeline: progress updates and changes of status.
decision_updates = Table(
    "decision_updates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("decision_id", Integer, ForeignKey("decisions.id", ondelete="CASCADE"),
           nullable=False),
    Column("actor_id", BigInteger, nullable=True),
    Column("status", String(12), nullable=False),
    Column("percent", Integer, nullable=False),
    Column("text", Text, nullable=True),
    Column("next_step", Text, nullable=True),
    Column("photos", JSON, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    # "created", "progress" (an update or a change of status) or "milestone"
    Column("kind", String(12), nullable=False, server_default="progress"),
    Index("ix_decision_updates_decision_id", "decision_id"),
)

decision_followers = Table(
    "decision_followers",
    metadata,
    Column("decision_id", Integer, ForeignKey("decisions.id", ondelete="CASCADE"),
           primary_key=True),
    Column("user_id", BigInteger, ForeignKey("people.user_id", ondelete="CASCADE"),
           primary_key=True),
    Column("at", UTCDateTime, nullable=False),
)

decision_ratings = Table(
    "decision_ratings",
    metadata,
    Column("decision_id", Integer, ForeignKey("decisions.id", ondelete="CASCADE"),
           primary_key=True),
    Column("user_id", BigInteger, ForeignKey("people.user_id", ondelete="CASCADE"),
           primary_key=True),
    Column("stars", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

# Moderators' announcements: once (run_at) or recurring (a cron expression in the
# group's time zone). The next run is due work; this row is what to send.
announcements = Table(
    "announcements",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="CASCADE"),
           nullable=False),
    Column("author_id", BigInteger, nullable=True),
    Column("text", Text, nullable=False),
    Column("photo_file_id", String(256), nullable=True),
    Column("cron", String(64), nullable=True),
    Column("run_at", UTCDateTime, nullable=True),
    Column("pin", Boolean, nullable=False),
    Column("in_quiet_hours", Boolean, nullable=False),
    Column("status", String(12), nullable=False),  # active, paused, finished, deleted
    Column("runs", Integer, nullable=False, server_default=text("0")),
    Column("last_run_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_announcements_community_id", "community_id"),
)

# One weekly summary per community and week, kept so a restart never sends it twice and
# residents can ask for the last one.
summaries = Table(
    "summaries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="CASCADE"),
           nullable=False),
    Column("week_start", UTCDateTime, nullable=False),
    Column("text", Text, nullable=False),
    Column("chart_file_id", String(256), nullable=True),
    Column("sent_at", UTCDateTime, nullable=False),
    UniqueConstraint("community_id", "week_start"),
)

# Issue reports (随手拍). The reporter is always stored, so moderators can reach them
# through the bot; an anonymous report is simply never shown with it.
reports = Table(
    "reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="CASCADE"),
           nullable=False),
    Column("number", Integer, nullable=False),
    Column("category", String(32), nullable=False),
    Column("description", Text, nullable=False),
    Column("voice_file_id", String(256), nullable=True),
    Column("where_text", String(200), nullable=False),
    Column("unit_id", Integer, ForeignKey("units.id", ondelete="SET NULL"), nullable=True),
    Column("latitude", Float, nullable=True),
    Column("longitude", Float, nullable=True),
    Column("reporter_id", BigInteger, ForeignKey("people.user_id", ondelete="SET NULL"),
           nullable=True),
    Column("anonymous", Boolean, nullable=False),
    Column("status", String(12), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("notices", JSON, nullable=False),
    Column("post_chat_id", BigInteger, nullable=True),
    Column("post_message_id", Integer, nullable=True),
    Column("assignee_id", BigInteger, ForeignKey("people.user_id", ondelete="SET NULL"),
           nullable=True),
    Column("duplicate_of", Integer, ForeignKey("reports.id", ondelete="SET NULL"),
           nullable=True),
    UniqueConstraint("community_id", "number"),
    Index("ix_reports_community_status", "community_id", "status"),
    Index("ix_reports_reporter_id", "reporter_id"),
)

report_photos = Table(
    "report_photos",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("report_id", Integer, ForeignKey("reports.id", ondelete="CASCADE"), nullable=False),
    Column("file_id", String(256), nullable=False),
    Column("after", Boolean, nullable=False, server_default=false()),
)

# The timeline: every change with who and when.
report_events = Table(
    "report_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("report_id", Integer, ForeignKey("reports.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(12), nullable=False),
    Column("actor_id", BigInteger, nullable=True),
    Column("note", Text, nullable=True),
    Column("at", UTCDateTime, nullable=False),
)

report_followers = Table(
    "report_followers",
    metadata,
    Column("report_id", Integer, ForeignKey("reports.id", ondelete="CASCADE"),
           primary_key=True),
    Column("user_id", BigInteger, ForeignKey("people.user_id", ondelete="CASCADE"),
           primary_key=True),
    Column("at", UTCDateTime, nullable=False),
)

# Everything with a future lives here until it is done: the scheduler's tick asks for
# the rows whose time has come (the partial index keeps that O(due)).
due_work = Table(
    "due_work",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("key", String(128), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("done_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # The run (of several instances, see ``instances``) that claimed it last.
    Column("leased_by", String(32), nullable=True),
    UniqueConstraint("kind", "key"),
    Index(
        "ix_due_work_pending",
        "due_at",
        sqlite_where=text("done_at IS NULL"),
        postgresql_where=text("done_at IS NULL"),
    ),
)

# PTB persistence: conversation states and per-user / per-chat data, as JSON.
conversation_states = Table(
    "conversation_states",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("state", JSON, nullable=False),
)

user_data = Table(
    "user_data",
    metadata,
    Column("user_id", BigInteger, primary_key=True, autoincrement=False),
    Column("data", JSON, nullable=False),
)

chat_data = Table(
    "chat_data",
    metadata,
    Column("chat_id", BigInteger, primary_key=True, autoincrement=False),
    Column("data", JSON, nullable=False),
)

# Updates fetched from Telegram and not yet handled. The fetch confirms them to Telegram at
# once, so without this a crash would lose whatever was still queued in memory; on start
# the bot handles what is left here first. ``update_progress`` keeps the highest update id
# ever received (one row), so an update Telegram delivers again is not handled twice.
update_inbox = Table(
    "update_inbox",
    metadata,
    Column("update_id", BigInteger, primary_key=True, autoincrement=False),
    Column("payload", JSON, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    # The chat whose order it keeps: its chat's id, or for an update without a chat (an
    # inline query) its sender's, negated. Read only by several instances sharing one bot
    # (bot/sharing.py).
    Column("chat_key", BigInteger, nullable=True),
    Index("ix_update_inbox_chat", "chat_key", "update_id"),
)

update_progress = Table(
    "update_progress",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_received", BigInteger, nullable=False),
)

# What the bot owes the world, written in the same transaction as the change that owes it
# (a poll's result, a report's new status, an escalation, a decision's progress), then
# delivered by bot/outbox.py. ``key`` is the message's idempotency key: the same message is
# never queued twice, and a delivered one is never sent again.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(160), nullable=False, unique=True),
    Column("chat_id", BigInteger, nullable=False),
    Column("method", String(32), nullable=False),
    Column("params", JSON, nullable=False),
    # What to remember once it is sent (the message id of a post the bot edits later).
    Column("remember", JSON, nullable=True),
    # Quiet hours: not sent before this moment (answers to a person go at once).
    Column("not_before", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("leased_by", String(32), nullable=True),  # the run that holds the lease
    Column("sent_at", UTCDateTime, nullable=True),
    Column("outcome", String(200), nullable=True),
    Index(
        "ix_outbox_pending",
        "not_before",
        sqlite_where=text("sent_at IS NULL"),
        postgresql_where=text("sent_at IS NULL"),
    ),
)

# Several `yishi run` processes sharing one bot (bot/sharing.py). Each process is a run,
# named by its instance's name and a fresh id per start, alive while it beats (``seen_at``,
# the database's own clock). A chat's updates are handled by the run holding its lease;
# a dead run's leases, and the outbox and due work it had claimed, are taken over.
instances = Table(
    "instances",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("run", String(32), nullable=False, unique=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
)

chat_leases = Table(
    "chat_leases",
    metadata,
    Column("chat_key", BigInteger, primary_key=True, autoincrement=False),
    Column("run", String(32), nullable=False, index=True),
    Column("taken_at", UTCDateTime, nullable=False),
)

# Telegram's flood limits kept for every instance together: one row per message sent,
# while it still counts in a window (a minute); see storage/instances.reserve_send.
send_budget = Table(
    "send_budget",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("chat_id", BigInteger, nullable=True),
    Column("sent_at", UTCDateTime, nullable=False, index=True),
    Index("ix_send_budget_chat", "chat_id", "sent_at"),
)

# Neighbours helping neighbours (邻里互助): a request or an offer, H-<number> in its community.
helps = Table(
    "helps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="CASCADE"),
           nullable=False),
    Column("number", Integer, nullable=False),
    Column("side", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("author_id", BigInteger, ForeignKey("people.user_id", ondelete="CASCADE"),
           nullable=False),
    Column("text", Text, nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("minutes", Integer, nullable=False),
    Column("audience", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("partner_id", BigInteger, nullable=True),
    Column("claimed_minutes", Integer, nullable=True),
    Column("post_chat_id", BigInteger, nullable=True),
    Column("post_message_id", BigInteger, nullable=True),
    # A digest of what the post shows now: an edit that would change nothing is not sent.
    Column("post_shows", String(16), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("community_id", "number"),
)

# Who answered a request ("I can help") or an offer ("I would like that").
help_answers = Table(
    "help_answers",
    metadata,
    Column("help_id", Integer, ForeignKey("helps.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", BigInteger, ForeignKey("people.user_id", ondelete="CASCADE"),
           primary_key=True),
    Column("at", UTCDateTime, nullable=False),
)

# The time bank (时间银行). The ledger is only added to (the database refuses an UPDATE;
# see migration 0014); a mistake is undone by a reversal entry, at most one per entry.
time_ledger = Table(
    "time_ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="CASCADE"),
           nullable=False),
    Column("user_id", BigInteger, ForeignKey("people.user_id", ondelete="CASCADE"),
           nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount", Integer, nullable=False),  # hundredths of a credit, signed
    Column("ref", String(32), nullable=False),
    Column("reason", Text, nullable=True),
    Column("reverses", Integer, nullable=True, unique=True),
    Column("at", UTCDateTime, nullable=False),
    Column("by", BigInteger, nullable=True),
    Index("ix_time_ledger_community_id_user_id", "community_id", "user_id"),
)

# Each person's balance, kept with every ledger entry in the same transaction; the database
# itself refuses a balance below zero, whatever two transactions do at once.
time_balances = Table(
    "time_balances",
    metadata,
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="CASCADE"),
           primary_key=True),
    Column("user_id", BigInteger, ForeignKey("people.user_id", ondelete="CASCADE"),
           primary_key=True),
    Column("balance", Integer, nullable=False),
    CheckConstraint("balance >= 0", name="ck_time_balances_not_negative"),
)

# Credits given to a member of one's household (T-<number>): the receiver confirms.
time_transfers = Table(
    "time_transfers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="CASCADE"),
           nullable=False),
    Column("from_id", BigInteger, ForeignKey("people.user_id", ondelete="CASCADE"),
           nullable=False),
    Column("to_id", BigInteger, ForeignKey("people.user_id", ondelete="CASCADE"),
           nullable=False),
    Column("amount", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime, nullable=True),
)

# A community's own rates, where they differ from the configuration's (credits per hour,
# in hundredths).
time_rates = Table(
    "time_rates",
    metadata,
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="CASCADE"),
           primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("per_hour", Integer, nullable=False),
)

# Volunteer activities (志愿活动), V-<number> in their community, and who took a seat.
activities = Table(
    "activities",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="CASCADE"),
           nullable=False),
    Column("number", Integer, nullable=False),
    Column("title", String(120), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("minutes", Integer, nullable=False),
    Column("seats", Integer, nullable=False),
    Column("organiser_id", BigInteger, nullable=True),
    Column("status", String(16), nullable=False),
    Column("post_chat_id", BigInteger, nullable=True),
    Column("post_message_id", BigInteger, nullable=True),
    Column("post_shows", String(16), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("community_id", "number"),
)

activity_signups = Table(
    "activity_signups",
    metadata,
    Column("activity_id", Integer, ForeignKey("activities.id", ondelete="CASCADE"),
           primary_key=True),
    Column("user_id", BigInteger, ForeignKey("people.user_id", ondelete="CASCADE"),
           primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("attended", Boolean, nullable=False, server_default=false()),
)

# The committee's rewards (积分兑换), G-<number>; the stock never goes below zero.
rewards = Table(
    "rewards",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="CASCADE"),
           nullable=False),
    Column("number", Integer, nullable=False),
    Column("name", String(80), nullable=False),
    Column("price", Integer, nullable=False),
    Column("stock", Integer, nullable=False),
    Column("active", Boolean, nullable=False, server_default=true()),
    CheckConstraint("stock >= 0", name="ck_rewards_stock_not_negative"),
    UniqueConstraint("community_id", "number"),
)

redemptions = Table(
    "redemptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="CASCADE"),
           nullable=False),
    Column("reward_id", Integer, ForeignKey("rewards.id", ondelete="CASCADE"),
           nullable=False),
    Column("user_id", BigInteger, ForeignKey("people.user_id", ondelete="CASCADE"),
           nullable=False),
    Column("price", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    # The confirmation pressed: pressing it twice spends once.
    Column("token", String(32), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=True),
    UniqueConstraint("user_id", "token"),
)

# Points a person has spent in a community; moved in the same statement that checks it
# against what they earned, so two redemptions at once cannot spend the same points.
point_wallets = Table(
    "point_wallets",
    metadata,
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="CASCADE"),
           primary_key=True),
    Column("user_id", BigInteger, ForeignKey("people.user_id", ondelete="CASCADE"),
           primary_key=True),
    Column("spent", Integer, nullable=False),
    CheckConstraint("spent >= 0", name="ck_point_wallets_spent_not_negative"),
)

# Residents' questions on a poll announced ahead of voting or on a round-table meeting
# (议题预告), and the committee's answers, posted together without the asker's name.
questions = Table(
    "questions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="CASCADE"),
           nullable=False),
    Column("poll_id", Integer, ForeignKey("polls.id", ondelete="CASCADE"), nullable=True),
    Column("meeting_id", Integer, nullable=True),  # a meeting (created in 0018)
    Column("asker_id", BigInteger, ForeignKey("people.user_id", ondelete="CASCADE"),
           nullable=False),
    Column("text", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("answer", Text, nullable=True),
    Column("answered_by", BigInteger, nullable=True),
    Column("answered_at", UTCDateTime, nullable=True),
)

# A decision posted for objection (公示) before it takes effect, and the objections: one per
# person, with a reason, shown without names.
decision_notices = Table(
    "decision_notices",
    metadata,
    Column("decision_id", Integer, ForeignKey("decisions.id", ondelete="CASCADE"),
           primary_key=True),
    Column("until", UTCDateTime, nullable=False),
    Column("outcome", String(16), nullable=True),  # confirmed, amended, withdrawn
    Column("outcome_reason", Text, nullable=True),
    Column("settled_by", BigInteger, nullable=True),
    Column("settled_at", UTCDateTime, nullable=True),
    Column("post_chat_id", BigInteger, nullable=True),
    Column("post_message_id", BigInteger, nullable=True),
    Column("post_shows", String(16), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

decision_objections = Table(
    "decision_objections",
    metadata,
    Column("decision_id", Integer, ForeignKey("decisions.id", ondelete="CASCADE"),
           primary_key=True),
    Column("user_id", BigInteger, ForeignKey("people.user_id", ondelete="CASCADE"),
           primary_key=True),
    Column("reason", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

# Round-table meetings (圆桌会议), M-<number>: agenda, time, place, seats; sign-ups in order
# (the first ``seats`` have a seat, the rest wait); the minutes (协商纪要) once written.
meetings = Table(
    "meetings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="CASCADE"),
           nullable=False),
    Column("number", Integer, nullable=False),
    Column("title", String(120), nullable=False),
    Column("agenda", JSON, nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("place", String(200), nullable=False),
    Column("seats", Integer, nullable=False),
    Column("organiser_id", BigInteger, nullable=True),
    Column("status", String(16), nullable=False),
    Column("background", JSON, nullable=True),  # text, photo, document: like a poll notice's
    Column("minutes", JSON, nullable=True),
    Column("post_chat_id", BigInteger, nullable=True),
    Column("post_message_id", BigInteger, nullable=True),
    Column("post_shows", String(16), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("community_id", "number"),
)

meeting_signups = Table(
    "meeting_signups",
    metadata,
    Column("meeting_id", Integer, ForeignKey("meetings.id", ondelete="CASCADE"),
           primary_key=True),
    Column("user_id", BigInteger, ForeignKey("people.user_id", ondelete="CASCADE"),
           primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("attended", Boolean, nullable=False, server_default=false()),
)

# Satisfaction survey rounds (共评, bot/domain/surveys.py). The stars are kept as counts,
# the comments without their writer, and who took part apart from both.
survey_rounds = Table(
    "survey_rounds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("community_id", Integer, ForeignKey("communities.id", ondelete="CASCADE"),
           nullable=False),
    Column("number", Integer, nullable=False),
    Column("subjects", JSON, nullable=False),
    Column("anonymous", Boolean, nullable=False, server_default=true()),
    Column("opened_by", BigInteger, nullable=True),  # NULL: opened by the schedule
    Column("opened_at", UTCDateTime, nullable=False),
    Column("closes_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("looks_back_from", UTCDateTime, nullable=False),
    Column("results", JSON, nullable=True),
    Column("post_chat_id", BigInteger, nullable=True),
    Column("post_message_id", BigInteger, nullable=True),
    UniqueConstraint("community_id", "number"),
)

# Which household rated which subject, and through whom (no stars, no time).
survey_takers = Table(
    "survey_takers",
    metadata,
    Column("round_id", Integer, ForeignKey("survey_rounds.id", ondelete="CASCADE"),
           primary_key=True),
    Column("subject", String(40), primary_key=True),
    Column("unit_id", Integer, ForeignKey("units.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", BigInteger, nullable=True),  # NULL once they asked to be forgotten
    UniqueConstraint("round_id", "subject", "user_id"),
)

survey_scores = Table(
    "survey_scores",
    metadata,
    Column("round_id", Integer, ForeignKey("survey_rounds.id", ondelete="CASCADE"),
           primary_key=True),
    Column("subject", String(40), primary_key=True),
    Column("stars", Integer, primary_key=True),
    Column("count", Integer, nullable=False),
    CheckConstraint("stars BETWEEN 1 AND 5", name="ck_survey_scores_stars"),
)

survey_comments = Table(
    "survey_comments",
    metadata,
    Column("round_id", Integer, ForeignKey("survey_rounds.id", ondelete="CASCADE"),
           primary_key=True),
    Column("subject", String(40), primary_key=True),
    Column("token", String(32), primary_key=True),  # random: rows carry no order
    Column("text", Text, nullable=False),
    Column("user_id", BigInteger, nullable=True),  # only in a round that is not anonymous
)

"""Settings: a TOML file, overridable by ``YISHI_<SECTION>__<KEY>`` environment variables."""

from __future__ import annotations

import re
import tomllib
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.domain.helping import Rates
from bot.domain.points import DailyCaps, Levels, PointsRules
from bot.domain.quiet_hours import QuietHours

Language = Literal["zh", "en"]
# What Telegram accepts as a webhook's secret token.
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TelegramSettings(_Section):
    token: SecretStr
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    # Seconds Telegram is given to answer a queued message (a poll's result, a report's
    # news) before it is taken as delivered late; answers to people keep PTB's 5 s.
    outbox_answer_seconds: float = Field(default=30.0, gt=0, le=300)
    # Flood control: one person's commands beyond this many in this many seconds, in one
    # chat, are ignored (they are told once, the moderators too).
    flood_commands: int = Field(default=10, ge=3, le=1000)
    flood_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Receive updates by webhook instead of long polling: the public HTTPS address
    # Telegram posts them to (its path is served by the [web] endpoint, behind a reverse
    # proxy that terminates TLS), and the secret Telegram sends with each one.
    webhook_url: str = ""
    webhook_secret: SecretStr = SecretStr("")

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("expected an https:// address, such as "
                             "https://bot.example.org/telegram")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if raw and not WEBHOOK_SECRET.fullmatch(raw):
            raise ValueError("use 1 to 256 characters: letters, digits, _ and -")
        return value

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value().strip()
        if not raw:
            raise ValueError("missing (set it in the config file or in YISHI_TELEGRAM__TOKEN)")
        if ":" not in raw:
            # Never echo the value: it may be a real token with a typo.
            raise ValueError("does not look like a bot token (expected <digits>:<secret>)")
        return SecretStr(raw)


class StorageSettings(_Section):
    url: str = "sqlite+aiosqlite:///yishi.db"


class SchedulerSettings(_Section):
    tick_seconds: float = Field(default=30, gt=0, le=3600)
    # For simulations and process-level tests only: read "now" from this file (one ISO
    # 8601 instant) instead of the system clock. Leave empty in production.
    clock_file: str = ""


class CommunitySettings(_Section):
    """Defaults for a newly added group; each group can change its own with /settings."""

    timezone: str = "Asia/Shanghai"
    language: Language = "zh"
    quiet_hours: str = "22:00-07:30"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        QuietHours.parse(value)
        return value


class ConversationSettings(_Section):
    idle_timeout_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)


class RolesSettings(_Section):
    admin_cache_seconds: int = Field(default=300, ge=0, le=86400)


class PointsSettings(_Section):
    """积分: what each act earns, the daily cap per act, and the level thresholds."""

    rules: PointsRules = PointsRules()
    daily_caps: DailyCaps = DailyCaps()
    levels: Levels = Levels()


class TimeBankSettings(_Section):
    """时间银行: credits per hour of each kind of service (a community's moderators can set
    their own with /timebank rate)."""

    rates: Rates = Rates()


class TopicsSettings(_Section):
    """议题: categories, the weekly limit per person, and the weekly roundup."""

    categories: list[str] = Field(default_factory=lambda: [
        "parking", "greening", "safety", "facilities", "hygiene", "noise", "pets", "other"])
    weekly_limit: int = Field(default=3, ge=1, le=50)
    similar_threshold: int = Field(default=70, ge=30, le=100)
    roundup_day: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                         "sunday"] = "monday"
    roundup_time: str = "09:00"
    roundup_size: int = Field(default=5, ge=1, le=20)
    # The group post's support count is edited at most this often.
    post_refresh_seconds: float = Field(default=5, ge=0, le=300)

    @field_validator("roundup_time")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        try:
            time.fromisoformat(value)
        except ValueError:
            raise ValueError(f"expected HH:MM such as 09:00, got {value!r}") from None
        return value

    @field_validator("categories")
    @classmethod
    def _categories(cls, value: list[str]) -> list[str]:
        if not value or any(not c.isidentifier() or len(c) > 24 for c in value):
            raise ValueError("categories are short lowercase words such as parking, noise")
        return value


class PollsSettings(_Section):
    """共识投票: reminders before the deadline, and how often a live tally is edited."""

    reminder_hours: list[float] = Field(default_factory=lambda: [24.0, 2.0])
    tally_refresh_seconds: float = Field(default=5, ge=0, le=300)
    # A poll announced ahead of voting (公示): the notice period offered first in the
    # preview; owners' meetings are commonly announced 15 days ahead.
    notice_days: int = Field(default=15, ge=1, le=60)

    @field_validator("reminder_hours")
    @classmethod
    def _positive(cls, value: list[float]) -> list[float]:
        if any(h <= 0 or h > 24 * 30 for h in value):
            raise ValueError("reminders are hours before the deadline, between 0 and 720")
        return sorted(set(value), reverse=True)


class ReportsSettings(_Section):
    """随手拍: categories, their time limits, common areas, and the fixed-or-not follow-up."""

    categories: list[str] = Field(default_factory=lambda: [
        "lift", "water", "electricity", "cleaning", "greening", "security", "parking", "other"])
    acknowledge_hours: float = Field(default=24, gt=0, le=24 * 30)
    resolve_hours: float = Field(default=72, gt=0, le=24 * 90)
    # Per category [acknowledge, resolve] hours where they differ from the defaults.
    limits: dict[str, list[float]] = Field(default_factory=lambda: {"lift": [4, 24]})
    common_areas: list[str] = Field(default_factory=lambda: [
        "lobby", "lift", "stairwell", "garage", "garden", "gate", "roof"])
    confirm_days: int = Field(default=7, ge=1, le=60)
    # After closing, ask the reporter and followers once more whether it stayed fixed.
    still_fixed_days: int = Field(default=28, ge=1, le=365)
    # Once a report is past its resolve limit (and the moderators were told), whoever has
    # it is reminded every this many days until it is resolved.
    overdue_reminder_days: int = Field(default=3, ge=1, le=60)
    post_to_group: bool = True

    @field_validator("limits")
    @classmethod
    def _limits(cls, value: dict[str, list[float]]) -> dict[str, list[float]]:
        for name, hours in value.items():
            if len(hours) != 2 or not 0 < hours[0] <= hours[1]:
                raise ValueError(f"{name}: give [acknowledge, resolve] hours, acknowledge "
                                 "first and no longer than resolve")
        return value


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                  "sunday"]


def _time_of_day(value: str) -> str:
    try:
        time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"expected HH:MM such as 09:00, got {value!r}") from None
    return value


class DecisionsSettings(_Section):
    """决议落实: how often an owner must post progress, and when the result is rated."""

    # Remind the owner when no progress was posted for this many days.
    update_interval_days: int = Field(default=7, ge=1, le=90)
    # Remind the owner this many days before the due date.
    due_reminder_days: int = Field(default=2, ge=0, le=30)
    # 回头看: this many days after "done", the group is asked to rate the result.
    rating_after_days: int = Field(default=30, ge=1, le=365)
    # The rating post's average is edited at most this often.
    rating_refresh_seconds: float = Field(default=5, ge=0, le=300)
    # 公示: how long a decision posted for objection stays open to objections, unless the
    # moderator says otherwise (/decision D-1 notice 14).
    objection_days: int = Field(default=7, ge=1, le=60)


class AnnouncementsSettings(_Section):
    """Scheduled announcements: how late a run missed during downtime may still go out."""

    grace_minutes: int = Field(default=60, ge=0, le=24 * 60)


class SummarySettings(_Section):
    """The weekly summary: when it is posted (local time of each group)."""

    enabled: bool = True
    day: Weekday = "sunday"
    time: str = "20:00"
    weeks_in_chart: int = Field(default=8, ge=2, le=26)

    @field_validator("time")
    @classmethod
    def _at(cls, value: str) -> str:
        return _time_of_day(value)


class WebSettings(_Section):
    """The bot's own HTTP endpoint: Telegram's webhook (when one is set), GET /healthz and
    GET /metrics. Off while ``port`` is 0."""

    listen: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)


class InstancesSettings(_Section):
    """Several `yishi run` processes sharing one bot: behind one webhook URL, on one
    PostgreSQL database (bot/sharing.py)."""

    shared: bool = False
    # This process's name among them (logs, /healthz). A process started again under the
    # same name takes over at once what its previous run held; by default the host's name
    # and the web port.
    name: str = Field(default="", max_length=64)


class LogSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="YISHI_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    telegram: TelegramSettings
    storage: StorageSettings = StorageSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    community: CommunitySettings = CommunitySettings()
    conversations: ConversationSettings = ConversationSettings()
    roles: RolesSettings = RolesSettings()
    points: PointsSettings = PointsSettings()
    timebank: TimeBankSettings = TimeBankSettings()
    topics: TopicsSettings = TopicsSettings()
    polls: PollsSettings = PollsSettings()
    reports: ReportsSettings = ReportsSettings()
    decisions: DecisionsSettings = DecisionsSettings()
    announcements: AnnouncementsSettings = AnnouncementsSettings()
    summary: SummarySettings = SummarySettings()
    web: WebSettings = WebSettings()
    instances: InstancesSettings = InstancesSettings()
    log: LogSettings = LogSettings()

    @model_validator(mode="after")
    def _webhook_needs(self) -> Settings:
        if self.telegram.webhook_url:
            if not self.telegram.webhook_secret.get_secret_value():
                raise ValueError("telegram.webhook_secret: required with a webhook_url, so "
                                 "that only Telegram can post updates")
            if not self.web.port:
                raise ValueError("web.port: required with a webhook_url (the port the "
                                 "webhook is served on)")
        if self.instances.shared:
            if not self.storage.url.startswith("postgresql"):
                raise ValueError("instances.shared: needs PostgreSQL (storage.url), the one "
                                 "database several processes can share")
            if not self.telegram.webhook_url:
                raise ValueError("instances.shared: needs a webhook_url (Telegram lets only "
                                 "one process poll for updates)")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init arguments; the environment must win over them.
        return (env_settings, init_settings)


class ConfigError(Exception):
    """A configuration problem, phrased as one line naming the key."""


def load_settings(path: Path | str, *, require_file: bool = True) -> Settings:
    """Read the TOML file at ``path`` and the environment into validated settings."""
    path = Path(path)
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    elif require_file:
        raise ConfigError(f"{path}: no such file (copy config.example.toml to start)")
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    """The first problem as ``section.key: what is wrong``, never echoing a secret."""
    error = exc.errors(include_url=False, include_input=False)[0]
    key = ".".join(str(part) for part in error["loc"])
    kind = error["type"]
    if kind == "missing":
        env = "YISHI_" + "__".join(str(p).upper() for p in error["loc"])
        return f"{key}: missing (set it in the config file or in {env})"
    if kind == "extra_forbidden":
        return f"{key}: unknown key"
    message = error["msg"].removeprefix("Value error, ")
    return f"{key}: {message}" if key else message  # a rule across keys names its own

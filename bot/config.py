"""Settings: a TOML file, overridable by ``YISHI_<SECTION>__<KEY>`` environment variables."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.domain.points import DailyCaps, Levels, PointsRules
from bot.domain.quiet_hours import QuietHours

Language = Literal["zh", "en"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TelegramSettings(_Section):
    token: SecretStr
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"

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
    log: LogSettings = LogSettings()

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
    return f"{key}: {message}"

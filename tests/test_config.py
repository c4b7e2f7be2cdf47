"""Configuration: the example file loads, the environment overrides, errors are one line."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from bot.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("YISHI_")}
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          env={**clean, **(env or {})}, cwd=ROOT, timeout=60)


def test_example_documents_every_key_the_loader_knows(monkeypatch):
    monkeypatch.setenv("YISHI_TELEGRAM__TOKEN", "123:abc")
    settings = load_settings(EXAMPLE)
    text = EXAMPLE.read_text(encoding="utf-8")
    def walk(name, model):
        assert f"[{name}]" in text or any(
            isinstance(v, BaseModel) for _, v in model), f"[{name}] is not documented"
        for key, value in model:
            if isinstance(value, BaseModel):
                walk(f"{name}.{key}", value)
            else:
                assert f"\n{key} = " in text, f"{name}.{key} is not in config.example.toml"

    for section_name, section in settings:
        walk(section_name, section)


def test_environment_overrides_the_file(monkeypatch, tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[telegram]\ntoken = "1:file"\n[community]\nlanguage = "zh"\n')
    monkeypatch.setenv("YISHI_COMMUNITY__LANGUAGE", "en")
    monkeypatch.setenv("YISHI_TELEGRAM__TOKEN", "2:env")
    settings = load_settings(path)
    assert settings.community.language == "en"
    assert settings.telegram.token.get_secret_value() == "2:env"
    assert "2:env" not in repr(settings)


@pytest.mark.parametrize(("body", "expected"), [
    ('[telegram]\ntoken = "1:x"\n[community]\ntimezone = "Mars/Base"\n',
     "community.timezone: unknown time zone 'Mars/Base'"),
    ('[telegram]\ntoken = "1:x"\ncolour = "red"\n', "telegram.colour: unknown key"),
    ('[telegram]\ntoken = "1:x"\n[scheduler]\ntick_seconds = "often"\n',
     "scheduler.tick_seconds:"),
    ('[telegram]\ntoken = "1:x"\n[community]\nquiet_hours = "late"\n',
     "community.quiet_hours:"),
    ('[telegram]\ntoken = "1:x"\n[community]\nlanguage = "fr"\n', "community.language:"),
    ('[telegram]\n', "telegram.token: missing"),
    ('[telegram]\ntoken = "1:x"\n[nonsense]\na = 1\n', "nonsense: unknown key"),
    ('[telegram\n', "not valid TOML"),
    ('[telegram]\ntoken = "1:x"\nwebhook_url = "https://b.example.org/telegram"\n'
     '[web]\nport = 8443\n', "telegram.webhook_secret: required with a webhook_url"),
    ('[telegram]\ntoken = "1:x"\nwebhook_url = "https://b.example.org/telegram"\n'
     'webhook_secret = "abc"\n', "web.port: required with a webhook_url"),
    ('[telegram]\ntoken = "1:x"\nwebhook_secret = "no spaces"\n',
     "telegram.webhook_secret: use 1 to 256 characters"),
    ('[telegram]\ntoken = "1:x"\nwebhook_url = "bot.example.org"\n',
     "telegram.webhook_url: expected an https:// address"),
    # Several instances need a database they can share, and Telegram posting to them.
    ('[telegram]\ntoken = "1:x"\nwebhook_url = "https://b.example.org/telegram"\n'
     'webhook_secret = "abc"\n[web]\nport = 8443\n[instances]\nshared = true\n',
     "instances.shared: needs PostgreSQL"),
    ('[telegram]\ntoken = "1:x"\n[storage]\nurl = "postgresql+asyncpg://h/yishi"\n'
     '[instances]\nshared = true\n', "instances.shared: needs a webhook_url"),
])
def test_bad_values_name_the_key(tmp_path, body, expected):
    path = tmp_path / "c.toml"
    path.write_text(body)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_check_config_succeeds_with_a_token_from_the_environment():
    result = _cli("check-config", "--config", str(EXAMPLE),
                  env={"YISHI_TELEGRAM__TOKEN": "123:abc"})
    assert result.returncode == 0, result.stderr
    assert "123:abc" not in result.stdout + result.stderr


@pytest.mark.parametrize(("env", "key"), [
    ({}, "telegram.token"),
    ({"YISHI_TELEGRAM__TOKEN": "123:abc", "YISHI_COMMUNITY__TIMEZONE": "Mars/Base"},
     "community.timezone"),
])
def test_check_config_fails_with_one_line_and_exit_2(env, key):
    result = _cli("check-config", "--config", str(EXAMPLE), env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert key in lines[0]
    assert "Traceback" not in result.stderr


def test_a_secret_token_is_never_echoed_in_an_error(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[telegram]\ntoken = "no-colon-secret-value"\n')
    result = _cli("check-config", "--config", str(path))
    assert result.returncode == 2
    assert "no-colon-secret-value" not in result.stderr
    assert "telegram.token" in result.stderr


def test_every_subcommand_has_help():
    for command in ("run", "migrate", "backup", "check-config"):
        result = _cli(command, "--help")
        assert result.returncode == 0
        assert "--config" in result.stdout

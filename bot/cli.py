"""`yishi run | migrate | backup DEST | check-config`, each with --config PATH."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from bot import __version__
from bot.config import ConfigError, Settings, load_settings

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="yishi",
        description="yishi (议事): a Telegram bot for residents' building group chats.",
    )
    parser.add_argument("--version", action="version", version=f"yishi {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=Path("config.toml"), metavar="PATH",
                        help="the TOML configuration file (default: ./config.toml)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", parents=[common], help="migrate the database and run the bot",
                        description="Apply pending migrations, then run the bot (long "
                                    "polling, or a webhook when [telegram] webhook_url "
                                    "is set).")
    commands.add_parser("migrate", parents=[common], help="bring the database schema up to date",
                        description="Apply the shipped database migrations; safe to repeat.")
    backup = commands.add_parser(
        "backup", parents=[common],
        help="copy the live database (SQLite, or PostgreSQL with pg_dump) to DEST",
        description="Make a consistent copy of the database while the bot runs.")
    backup.add_argument("dest", type=Path, metavar="DEST", help="a file or a directory")
    commands.add_parser("check-config", parents=[common], help="validate the configuration",
                        description="Load and validate the configuration, then exit 0 or 2.")
    sandbox = commands.add_parser(
        "sandbox", help="try yishi in a browser, without Telegram",
        description="Run the bot against a local stand-in for Telegram, with a seeded "
                    "building group, and serve a page on 127.0.0.1 to play its residents. "
                    "Needs no token and no config file.")
    sandbox.add_argument("--port", type=int, default=8080,
                         help="the page's port on 127.0.0.1 (default: 8080; 0: any free one)")
    sandbox.add_argument("--db", metavar="PATH_OR_URL",
                         help="keep the sandbox's database in this file, or in the "
                              "PostgreSQL database at this URL (postgresql+asyncpg://...; "
                              "default: a throwaway file)")
    sandbox.add_argument("--lang", choices=("zh", "en"), default="zh",
                         help="the group's language (default: zh)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.command == "sandbox":
        raise SystemExit(_sandbox(args))
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"yishi: config error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None
    from bot.logs import setup_logging

    setup_logging(settings.log.level, settings.telegram.token.get_secret_value())
    handler = {"run": _run, "migrate": _migrate, "backup": _backup,
               "check-config": _check_config}[args.command]
    raise SystemExit(handler(settings, args))


def _sandbox(args: argparse.Namespace) -> int:
    from bot.logs import setup_logging
    from bot.sandbox import serve

    setup_logging("WARNING")
    try:
        asyncio.run(serve(args.port, args.db, args.lang))
    except OSError as exc:
        print(f"yishi: sandbox: {exc}", file=sys.stderr)
        return 1
    return 0


def _check_config(settings: Settings, args: argparse.Namespace) -> int:
    print(f"{args.config}: ok (storage {settings.storage.url}, language "
          f"{settings.community.language}, time zone {settings.community.timezone})")
    return 0


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from storage import Database
    from storage.migrate import upgrade

    async def go() -> str | None:
        db = Database(settings.storage.url)
        await db.open()
        try:
            return await upgrade(db)
        finally:
            await db.close()

    print(f"database at revision {asyncio.run(go())}")
    return 0


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    from storage.backup import BackupError, backup

    try:
        size = backup(settings.storage.url, args.dest)
    except BackupError as exc:
        print(f"yishi: backup failed: {exc}", file=sys.stderr)
        return 1
    print(f"backed up {size} bytes to {args.dest}")
    return 0


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from telegram import Update
    from telegram.error import InvalidToken

    from bot.app import build_application, serve_until_stopped

    app = build_application(settings)
    app.bot_data.services.freeze_after_start = True
    logging.getLogger("yishi").info("starting", extra={"base_url": settings.telegram.base_url})
    try:
        # Migrations run before persistence is read, so a fresh database works. If Telegram
        # cannot be reached at start, keep trying rather than exit: a building's bot should
        # come back by itself after a network outage.
        if settings.telegram.webhook_url:
            asyncio.run(serve_until_stopped(app))
        else:
            app.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False,
                            bootstrap_retries=-1)
    except InvalidToken:
        print("yishi: config error: telegram.token: Telegram rejected this token",
              file=sys.stderr)
        return EXIT_CONFIG
    return 0

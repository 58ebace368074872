"""The ``halo-bot`` command line: run, login, check, sync-commands, migrate-db."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot import __version__
from bot.common.errors import BotError, ConfigError, UserFacingError
from bot.core.config import Settings, load_settings
from bot.core.logs import setup_logging

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2


def _secrets(settings: Settings) -> list[str]:
    values = [settings.discord_token, settings.halo_spartan_token, settings.halo_clearance_token]
    return [v.get_secret_value() for v in values if v is not None]


def _cmd_run(settings: Settings) -> int:
    settings.require_discord()
    settings.require_halo_auth()
    from bot.core.launcher import run_bot

    asyncio.run(run_bot(settings))
    return EXIT_OK


def _cmd_login(settings: Settings) -> int:
    client_id = settings.require_azure()
    from bot.halo.auth import device_code_login

    who = asyncio.run(
        device_code_login(
            client_id,
            settings.halo_token_cache,
            api_base=settings.halo_api_base_url,
            prompt=lambda text: print(text, flush=True),
        )
    )
    print(f"Signed in as {who}. The token cache is saved at {settings.halo_token_cache}.")
    return EXIT_OK


def _cmd_check(settings: Settings) -> int:
    from bot.core.launcher import check_setup

    for line in asyncio.run(check_setup(settings)):
        print(line)
    return EXIT_OK


def _cmd_sync(settings: Settings) -> int:
    settings.require_discord()
    from bot.core.launcher import sync_commands

    print(asyncio.run(sync_commands(settings)))
    return EXIT_OK


MIGRATE_DB = "migrate-db"
MIGRATE_DB_HELP = "copy a SQLite database into the PostgreSQL database at DATABASE_URL"


def _cmd_migrate_db(settings: Settings, sqlite_path: Path, *, force: bool) -> int:
    if settings.database_url is None:
        raise ConfigError(
            "DATABASE_URL is not set: migrate-db copies into the PostgreSQL database it names "
            "(postgresql://user@host:port/database)."
        )
    from bot.storage.sqlite_to_postgres import copy_sqlite_to_postgres

    report = asyncio.run(copy_sqlite_to_postgres(sqlite_path, settings.database_url, force=force))
    if not report.copied:
        print(f"{report.target} already holds every row of {report.source}; nothing to do.")
    else:
        replaced = f", replacing {report.replaced} rows" if report.replaced else ""
        print(f"Copied {report.source} into {report.target}{replaced}:")
    width = max(len(table) for table in report.counts)
    for table, count in report.counts.items():
        print(f"  {table:<{width}}  {count:>9} rows")
    print(f"Schema version {report.schema_version}. Set DATABASE_URL for the bot to use it.")
    return EXIT_OK


COMMANDS: dict[str, tuple[str, Callable[[Settings], int]]] = {
    "run": ("start the bot", _cmd_run),
    "login": ("sign the bot in to Halo with a Microsoft account (device code)", _cmd_login),
    "check": ("validate the configuration and the Discord and Halo credentials", _cmd_check),
    "sync-commands": ("publish the slash commands (globally, or to the dev guild)", _cmd_sync),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="halo-bot",
        description="Halo Infinite stats for Discord. Configuration comes from the environment "
        "and .env (see .env.example).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--env-file", default=".env", help="settings file to read (default: .env in this folder)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, _) in COMMANDS.items():
        sub.add_parser(name, help=help_text, description=help_text)
    migrate = sub.add_parser(MIGRATE_DB, help=MIGRATE_DB_HELP, description=MIGRATE_DB_HELP)
    migrate.add_argument(
        "--from-sqlite", required=True, type=Path, metavar="PATH", help="the SQLite file to copy"
    )
    migrate.add_argument(
        "--force", action="store_true", help="replace the rows a non-empty target already holds"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_CONFIG
    try:
        settings = load_settings(args.env_file)
        setup_logging(settings.log_level_number, _secrets(settings), settings.log_format)
        if args.command == MIGRATE_DB:
            return _cmd_migrate_db(settings, args.from_sqlite, force=args.force)
        return COMMANDS[args.command][1](settings)
    except ConfigError as exc:
        print(f"halo-bot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except UserFacingError as exc:
        print(f"halo-bot: {exc.message}", file=sys.stderr)
        return EXIT_FAILURE
    except BotError as exc:
        print(f"halo-bot: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except OSError as exc:  # a file or folder the bot cannot use (network errors are mapped)
        where = f": {exc.filename}" if exc.filename else ""
        print(
            f"halo-bot: {exc.strerror or exc}{where}: check DATABASE_PATH, HALO_TOKEN_CACHE "
            "and who owns their folders.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130

"""Assembling a running Relais: config, database, content, platforms, worker, scheduler."""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from bot.audit import service as audit
from bot.config import AppConfig, config_path, load_config
from bot.content.sync import ContentWatcher, load_checked, sync
from bot.core import Relais
from bot.db import alembic_config, make_engine, session_scope, upgrade
from bot.delivery.worker import DeliveryWorker
from bot.i18n import Tr, cli_language
from bot.platforms import Platform
from bot.registry import build_registry

log = logging.getLogger("relais")


class StartupError(Exception):
    """Relais cannot start; the message says why and what to do."""


@dataclass
class Runtime:
    config: AppConfig
    config_file: Path
    engine: Engine
    relais: Relais
    platforms: dict[str, Platform]
    worker: DeliveryWorker
    watcher: ContentWatcher


def schema_is_current(engine: Engine) -> bool:
    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    return set(current) == set(script.get_heads())


def prepare_database(engine: Engine, auto_upgrade: bool | None = None) -> None:
    """Upgrade the embedded SQLite database; insist on `relais db upgrade` elsewhere."""
    tr = Tr(cli_language())
    if auto_upgrade is None:
        auto_upgrade = engine.dialect.name == "sqlite"
    try:
        if auto_upgrade:
            upgrade(engine)
        elif not schema_is_current(engine):
            raise StartupError(
                tr("The database schema is not up to date: run `relais db upgrade` first.")
            )
    except StartupError:
        raise
    except Exception as exc:  # driver errors: unreachable server, bad credentials…
        raise StartupError(
            tr(
                "Cannot use the database {url}: {error}",
                url=engine.url.render_as_string(hide_password=True),
                error=str(exc).splitlines()[0],
            )
        ) from None


def load_platforms(relais: Relais, config: AppConfig) -> dict[str, Platform]:
    """One adapter per enabled platform, each from ``adapters/<name>/``."""
    tr = Tr(cli_language())
    platforms: dict[str, Platform] = {}
    for name in config.platforms.enabled():
        try:
            module = importlib.import_module(f"adapters.{name}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("adapters"):
                raise StartupError(
                    tr(
                        "The {platform} platform is enabled in app.yaml but this version "
                        "of Relais has no adapter for it.",
                        platform=name,
                    )
                ) from None
            raise
        platforms[name] = module.create(relais, config)
    return platforms


def build_runtime(
    config_file: str | Path | None = None,
    database_url: str | None = None,
    content_root: Path | None = None,
    auto_upgrade: bool | None = None,
) -> Runtime:
    """Everything `relais serve` and `relais console` run on; raises ProblemsError/StartupError."""
    lang = cli_language()
    file = config_path(config_file)
    config = load_config(file, lang)
    root = content_root or file.resolve().parent / "content"
    library = load_checked(root, config, lang)
    engine = make_engine(database_url)
    prepare_database(engine, auto_upgrade)
    with session_scope(engine) as session:
        audit.content_synced(session, sync(session, library, config))
        audit.config_loaded(session, file)
    relais = Relais(config, library, engine, build_registry())
    platforms = load_platforms(relais, config)
    worker = DeliveryWorker(engine, platforms, config.delivery)
    for platform in platforms.values():
        platform.bind(worker.kick)
    watcher = ContentWatcher(root, config, engine, library)
    return Runtime(config, file, engine, relais, platforms, worker, watcher)

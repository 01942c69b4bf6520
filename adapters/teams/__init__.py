"""The Microsoft Teams platform: a Bot Framework bot on `POST /api/messages`, Adaptive Cards out.

Environment (referenced from app.yaml as ``${…}``): ``MicrosoftAppId``,
``MicrosoftAppPassword`` (or a certificate), ``MicrosoftAppTenantId``; for a
local test without Bot Framework authentication, ``RELAIS_TEAMS_INSECURE_LOCAL=1``.
See docs/teams.md. botbuilder is imported only inside this package.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.config import AppConfig
from bot.core import Relais

if TYPE_CHECKING:
    from adapters.teams.platform import TeamsPlatform

NAME = "teams"
log = logging.getLogger("relais.teams")


def create(relais: Relais, config: AppConfig) -> TeamsPlatform:
    from adapters.teams.auth import INSECURE_ENV, resolve
    from adapters.teams.platform import TeamsPlatform

    credentials = resolve(config.platforms.teams)
    if credentials.insecure:
        banner = "!" * 78
        log.warning(
            "\n%s\n!! Teams: Bot Framework AUTHENTICATION IS OFF (%s=1).\n"
            "!! Anyone who can reach /api/messages could pose as any member. Local tests only:\n"
            "!! only loopback clients are served. Unset %s in production.\n%s",
            banner,
            INSECURE_ENV,
            INSECURE_ENV,
            banner,
        )
    else:
        log.info("Teams: bot %s (%s), authentication on", credentials.app_id, credentials.app_type)
    return TeamsPlatform(relais, credentials)

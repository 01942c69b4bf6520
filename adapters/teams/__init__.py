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
from bot.i18n import Tr

if TYPE_CHECKING:
    from adapters.teams.platform import TeamsPlatform

NAME = "teams"
log = logging.getLogger("relais.teams")

# The members CSV may give each person's Microsoft Entra object id (see docs/teams.md).
CSV_ID_COLUMN = "teams_id"
MAX_ID = 200


def check_user_id(value: str, lang: str | None = None) -> str | None:
    """None for a plausible Teams id (an Entra object id or a Bot Framework user id)."""
    if len(value) <= MAX_ID and not any(ch.isspace() for ch in value):
        return None
    return Tr(lang)(
        "'{value}' is not a Teams id (an Entra object id such as 00000000-0000-0000-0000-000000000000)",
        value=value[:60],
    )


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

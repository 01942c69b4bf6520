"""The Slack platform: Bolt on `POST /slack/events` (or Socket Mode), Block Kit out.

Environment (referenced from app.yaml as ``${…}``): SLACK_BOT_TOKEN,
SLACK_SIGNING_SECRET, optional SLACK_APP_TOKEN (Socket Mode), optional
SLACK_API_URL (a proxy, or a stand-in API in tests).
"""

from __future__ import annotations

import os
import re

from bot.config import AppConfig
from bot.core import Relais
from bot.i18n import Tr, cli_language
from bot.runtime import StartupError

# The members CSV may give each person's Slack id (else Relais finds them by e-mail).
CSV_ID_COLUMN = "slack_user_id"
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")


def check_user_id(value: str, lang: str | None = None) -> str | None:
    """None for a Slack user id (U024BE7LH), else what is wrong with it."""
    if _SLACK_ID.match(value):
        return None
    return Tr(lang)("'{value}' is not a Slack user id (e.g. U024BE7LH)", value=value)


def create(relais: Relais, config: AppConfig):  # type: ignore[no-untyped-def]
    from adapters.slack.platform import SlackPlatform

    settings = config.platforms.slack
    tr = Tr(cli_language())

    def value(reference, default_variable: str) -> str | None:  # type: ignore[no-untyped-def]
        if reference is not None:
            return reference.resolve()
        return os.environ.get(default_variable) or None

    token = value(settings.bot_token, "SLACK_BOT_TOKEN")
    secret = value(settings.signing_secret, "SLACK_SIGNING_SECRET")
    app_token = value(settings.app_token, "SLACK_APP_TOKEN")
    api_url = value(settings.api_url, "SLACK_API_URL")
    if not token:
        raise StartupError(
            tr(
                "Slack is enabled but its bot token is not set: export {variable}.",
                variable=settings.bot_token.variable if settings.bot_token else "SLACK_BOT_TOKEN",
            )
        )
    if not secret and not app_token:
        raise StartupError(
            tr(
                "Slack is enabled but {variable} is not set (or set SLACK_APP_TOKEN for Socket Mode).",
                variable=settings.signing_secret.variable
                if settings.signing_secret
                else "SLACK_SIGNING_SECRET",
            )
        )
    return SlackPlatform(
        relais,
        token,
        secret,
        app_token,
        api_url,
        process_before_response=settings.process_before_response,
        rate_per_second=config.delivery.rate_per_second.get("slack"),
    )

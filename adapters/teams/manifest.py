"""The Teams app package: manifest.json, its translations and two icons, in one zip.

An administrator uploads the zip in the Teams admin centre (or a developer
in Teams, "Upload a custom app"). The manifest names the bot (its Microsoft
app id), where it can be used (personal chats, teams, group chats), and the
commands Teams suggests as the member types, in each of the programme's
languages.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from adapters.teams.icons import accent_hex, color_icon, outline_icon
from bot.config import AppConfig
from bot.i18n import SUPPORTED, t
from bot.messages import clip

MANIFEST_VERSION = "1.17"
MANIFEST_SCHEMA = (
    f"https://developer.microsoft.com/en-us/json-schemas/teams/v{MANIFEST_VERSION}/"
    "MicrosoftTeams.schema.json"
)
LOCALIZATION_SCHEMA = (
    f"https://developer.microsoft.com/en-us/json-schemas/teams/v{MANIFEST_VERSION}/"
    "MicrosoftTeams.Localization.schema.json"
)
SCOPES = ["personal", "team", "groupChat"]
MAX_COMMANDS = 10  # Teams shows at most 10 commands per command list
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_VERSION = re.compile(r"^\d{1,3}\.\d{1,3}\.\d{1,3}$")


class PackageError(ValueError):
    """The package cannot be built as asked; the message (translated) says why."""


def is_guid(value: str | None) -> bool:
    return bool(value and _GUID.match(value))


@dataclass(frozen=True)
class PackageOptions:
    bot_id: str
    website_url: str
    privacy_url: str | None = None
    terms_url: str | None = None
    app_id: str | None = None  # the Teams app id; the bot id by default
    version: str = "1.0.0"
    short_name: str = "Relais"
    developer: str | None = None


def _commands(config: AppConfig, lang: str) -> list[dict[str, str]]:
    """The commands every ambassador may type (role-restricted ones are left out), in ``lang``."""
    from bot.permissions import Permissions
    from bot.registry import build_registry

    rules = Permissions(config)
    ambassador = rules.actor(None, "", None, (), opted_in=True)
    specs = [spec for spec in build_registry().visible_to(ambassador, rules) if spec.suggest]
    return [
        {
            # Teams types the title into the compose box when it is picked: the bare command.
            "title": clip(spec.name, 32, trim=True),
            "description": clip(t(lang, spec.summary), 128, trim=True),
        }
        for spec in specs[:MAX_COMMANDS]
    ]


def _texts(config: AppConfig, lang: str, short_name: str) -> dict[str, str]:
    programme = config.programme.name
    return {
        "name.short": clip(short_name, 30, trim=True),
        "name.full": clip(programme, 100, trim=True),
        "description.short": clip(
            t(lang, "Your social media champions programme, in Teams."), 80, trim=True
        ),
        "description.full": clip(
            t(
                lang,
                "Relais runs {programme}: micro-lessons with a quiz, approved posts to share, "
                "the charter of conduct, and a way to report a worrying mention. Type “help” "
                "to see what it can do for you.",
                programme=programme,
            ),
            4000,
            trim=True,
        ),
    }


def _check_url(url: str | None, what: str, lang: str) -> None:
    if url is None:
        return
    parsed = urlparse(url)
    if parsed.scheme != "https" or not parsed.netloc:
        raise PackageError(
            t(lang, "{what} must be an https:// address, not “{url}”.", what=what, url=url)
        )


def build_manifest(
    config: AppConfig, options: PackageOptions, lang: str = "en"
) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """manifest.json and its translation files (file name -> content)."""
    if not is_guid(options.bot_id):
        raise PackageError(
            t(
                lang,
                "The bot id “{value}” is not a Microsoft app id (a GUID such as "
                "00000000-0000-0000-0000-000000000000).",
                value=options.bot_id,
            )
        )
    app_id = options.app_id or options.bot_id
    if not is_guid(app_id):
        raise PackageError(t(lang, "The Teams app id “{value}” is not a GUID.", value=app_id))
    if not _VERSION.match(options.version):
        raise PackageError(
            t(
                lang,
                "The app version “{value}” must look like 1.0.0 (raise it for each new upload).",
                value=options.version,
            )
        )
    for url, what in (
        (options.website_url, "--website-url"),
        (options.privacy_url, "--privacy-url"),
        (options.terms_url, "--terms-url"),
    ):
        _check_url(url, what, lang)
    default = config.languages.default
    texts = _texts(config, default, options.short_name)
    commands = _commands(config, default)
    manifest: dict[str, Any] = {
        "$schema": MANIFEST_SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": options.version,
        "id": app_id.lower(),
        "developer": {
            "name": clip(options.developer or config.programme.name, 32, trim=True),
            "websiteUrl": options.website_url,
            "privacyUrl": options.privacy_url or options.website_url,
            "termsOfUseUrl": options.terms_url or options.website_url,
        },
        "name": {"short": texts["name.short"], "full": texts["name.full"]},
        "description": {
            "short": texts["description.short"],
            "full": texts["description.full"],
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": accent_hex(),
        "bots": [
            {
                "botId": options.bot_id.lower(),
                "scopes": SCOPES,
                "isNotificationOnly": False,
                "supportsFiles": False,
                "supportsCalling": False,
                "supportsVideo": False,
                "commandLists": [{"scopes": SCOPES, "commands": commands}],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [],
    }
    others = [code for code in config.languages.available if code != default and code in SUPPORTED]
    translations: dict[str, dict[str, str]] = {}
    for code in others:
        localized: dict[str, str] = {"$schema": LOCALIZATION_SCHEMA}
        localized.update(_texts(config, code, options.short_name))
        for index, command in enumerate(_commands(config, code)):
            prefix = f"bots[0].commandLists[0].commands[{index}]"
            localized[f"{prefix}.title"] = command["title"]
            localized[f"{prefix}.description"] = command["description"]
        translations[f"{code}.json"] = localized
    if translations:
        manifest["localizationInfo"] = {
            "defaultLanguageTag": default,
            "additionalLanguages": [
                {"languageTag": name.removesuffix(".json"), "file": name} for name in translations
            ],
        }
    return manifest, translations


def build_package(config: AppConfig, options: PackageOptions, lang: str = "en") -> bytes:
    """The zip to upload: manifest.json, translations, color.png (192×192), outline.png (32×32)."""
    manifest, translations = build_manifest(config, options, lang)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        for name, content in translations.items():
            archive.writestr(name, json.dumps(content, ensure_ascii=False, indent=2))
        archive.writestr("color.png", color_icon(192))
        archive.writestr("outline.png", outline_icon(32))
    return buffer.getvalue()

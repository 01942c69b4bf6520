"""Who Relais is to the Bot Framework: credentials, and botbuilder's authentication.

Inbound activities carry a Bot Framework JWT that botbuilder validates
(``ConfigurationBotFrameworkAuthentication``) against the bot's app id;
outbound calls to the Bot Connector carry a token for that app id, from its
password (or certificate) and, for a single-tenant bot, its tenant.

botbuilder turns authentication off whenever the app id is empty. Relais does
not let that happen by accident: without an app id it refuses to start,
unless ``RELAIS_TEAMS_INSECURE_LOCAL=1`` says explicitly that this is a local
test, in which case the credentials are ignored, only loopback clients are
served, and ``relais serve`` says so loudly.

botbuilder fetches the Bot Framework's signing keys (OpenID metadata, then
JWKS) with a synchronous ``requests.get`` and no timeout, inside the event
loop, whenever a token claims a known issuer and the keys are a day old: one
unauthenticated request could freeze the whole server. ``OffLoopOpenIdMetadata``
replaces botbuilder's key cache: the fetch runs in a thread, with timeouts,
concurrent requests share one fetch, and a failed fetch is not retried for
``RETRY_FAILED_FETCH`` seconds (those requests get 503 at once).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests
from botbuilder.integration.aiohttp import (
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from botframework.connector.auth import (
    CertificateServiceClientCredentialsFactory,
    ServiceClientCredentialsFactory,
    jwt_token_extractor,
)

from bot.config import TeamsSettings
from bot.i18n import Tr, cli_language
from bot.runtime import StartupError

log = logging.getLogger("relais.teams")

INSECURE_ENV = "RELAIS_TEAMS_INSECURE_LOCAL"
APP_TYPES = ("MultiTenant", "SingleTenant", "UserAssignedMSI")
# The variables app.yaml conventionally references (used when a key is left out).
DEFAULT_VARIABLES = {
    "app_id": "MicrosoftAppId",
    "app_password": "MicrosoftAppPassword",
    "tenant_id": "MicrosoftAppTenantId",
    "app_type": "MicrosoftAppType",
    "certificate_thumbprint": "MicrosoftAppCertificateThumbprint",
    "certificate_private_key": "MicrosoftAppCertificatePrivateKey",
}

KEY_FETCH_TIMEOUT = 10.0  # seconds for each call to the OpenID metadata and keys endpoints
AUTH_TIMEOUT = 15.0  # seconds for the whole check of one inbound token (then 503)
RETRY_FAILED_FETCH = 30.0  # after a failed key fetch, answer 503 this long before trying again
_KEY_FETCHER = ThreadPoolExecutor(max_workers=2, thread_name_prefix="relais-openid")


class KeysUnavailable(Exception):
    """The Bot Framework's signing keys could not be fetched: the token cannot be checked now."""


def _fetch_keys(url: str) -> list[dict[str, Any]]:
    """OpenID metadata, then its JWKS, as botbuilder does, but with timeouts (in a thread)."""
    response = requests.get(url, timeout=KEY_FETCH_TIMEOUT)
    response.raise_for_status()
    jwks_uri = response.json()["jwks_uri"]
    keys = requests.get(jwks_uri, timeout=KEY_FETCH_TIMEOUT)
    keys.raise_for_status()
    found = keys.json()["keys"]
    if not isinstance(found, list):
        raise ValueError("the JWKS has no list of keys")
    return found


class OffLoopOpenIdMetadata(jwt_token_extractor._OpenIdMetadata):  # type: ignore[misc]
    """botbuilder's signing-key cache, refreshed in a thread so the event loop never waits."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._lock = threading.Lock()
        self._pending: Future[list[dict[str, Any]]] | None = None
        self._failed_at = float("-inf")

    async def _refresh(self) -> None:
        with self._lock:
            pending = self._pending
            if pending is None or pending.done():
                if time.monotonic() - self._failed_at < RETRY_FAILED_FETCH:
                    raise KeysUnavailable("the Bot Framework's signing keys are unavailable")
                pending = self._pending = _KEY_FETCHER.submit(_fetch_keys, self.url)
        try:
            # Shielded: a request that gives up does not cancel the fetch others wait for.
            keys = await asyncio.shield(asyncio.wrap_future(pending))
        except Exception as exc:
            with self._lock:
                self._failed_at = time.monotonic()
            log.warning("Teams: could not fetch the signing keys: %s", type(exc).__name__)
            raise KeysUnavailable("the Bot Framework's signing keys are unavailable") from exc
        self.keys = keys
        self.last_updated = datetime.now()


def install_off_loop_key_fetch() -> None:
    """Make botbuilder create (and keep) only off-loop key caches."""
    jwt_token_extractor._OpenIdMetadata = OffLoopOpenIdMetadata
    cache = jwt_token_extractor.JwtTokenExtractor.metadataCache
    for url, metadata in list(cache.items()):
        if not isinstance(metadata, OffLoopOpenIdMetadata):
            cache[url] = OffLoopOpenIdMetadata(url)


install_off_loop_key_fetch()


def insecure_requested(environ: dict[str, str] | None = None) -> bool:
    value = (os.environ if environ is None else environ).get(INSECURE_ENV, "")
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class TeamsCredentials:
    """The bot's identity; ``insecure`` means authentication is off (local tests only)."""

    app_id: str | None
    app_type: str = "MultiTenant"
    tenant_id: str | None = None
    app_password: str | None = field(default=None, repr=False)
    certificate_thumbprint: str | None = field(default=None, repr=False)
    certificate_private_key: str | None = field(default=None, repr=False)
    insecure: bool = False


def setting(settings: TeamsSettings, key: str, environ: dict[str, str]) -> str | None:
    reference = getattr(settings, key, None)
    if reference is not None and hasattr(reference, "resolve"):
        return reference.resolve(environ)
    if isinstance(reference, str) and reference:
        return reference
    return environ.get(DEFAULT_VARIABLES[key]) or None


def _variable(settings: TeamsSettings, key: str) -> str:
    reference = getattr(settings, key, None)
    return getattr(reference, "variable", None) or DEFAULT_VARIABLES[key]


def resolve(settings: TeamsSettings, environ: dict[str, str] | None = None) -> TeamsCredentials:
    """The credentials from the environment; StartupError says what is missing."""
    env = dict(os.environ if environ is None else environ)
    tr = Tr(cli_language())
    if insecure_requested(env):
        return TeamsCredentials(app_id=None, insecure=True)
    app_id = setting(settings, "app_id", env)
    password = setting(settings, "app_password", env)
    tenant = setting(settings, "tenant_id", env)
    thumbprint = setting(settings, "certificate_thumbprint", env)
    private_key = setting(settings, "certificate_private_key", env)
    app_type = setting(settings, "app_type", env) or ("SingleTenant" if tenant else "MultiTenant")
    if not app_id:
        raise StartupError(
            tr(
                "Teams is enabled but its app id is not set: export {variable} (the bot's "
                "Microsoft app id). To try Relais locally without Bot Framework authentication, "
                "set {insecure}=1 instead.",
                variable=_variable(settings, "app_id"),
                insecure=INSECURE_ENV,
            )
        )
    matched = next((known for known in APP_TYPES if known.lower() == app_type.lower()), None)
    if matched is None:
        raise StartupError(
            tr(
                "Teams: the app type “{value}” is not one of {types}.",
                value=app_type,
                types=", ".join(APP_TYPES),
            )
        )
    if matched != "UserAssignedMSI" and not password and not (thumbprint and private_key):
        raise StartupError(
            tr(
                "Teams is enabled but the bot's secret is not set: export {variable} "
                "(or a certificate: {thumbprint} and {key}).",
                variable=_variable(settings, "app_password"),
                thumbprint=_variable(settings, "certificate_thumbprint"),
                key=_variable(settings, "certificate_private_key"),
            )
        )
    if matched in ("SingleTenant", "UserAssignedMSI") and not tenant:
        raise StartupError(
            tr(
                "Teams: a {type} bot needs its tenant id: export {variable}.",
                type=matched,
                variable=_variable(settings, "tenant_id"),
            )
        )
    return TeamsCredentials(
        app_id=app_id,
        app_type=matched,
        tenant_id=tenant,
        app_password=password,
        certificate_thumbprint=thumbprint,
        certificate_private_key=private_key,
    )


class BotConfiguration:
    """The attributes botbuilder's configuration classes read (its ``config.py`` convention)."""

    def __init__(self, credentials: TeamsCredentials, **overrides: Any) -> None:
        self.APP_ID = credentials.app_id
        self.APP_PASSWORD = credentials.app_password
        self.APP_TENANTID = credentials.tenant_id
        # Without an app id (insecure local mode) only MultiTenant accepts empty credentials.
        self.APP_TYPE = credentials.app_type if credentials.app_id else "MultiTenant"
        for name, value in overrides.items():
            setattr(self, name, value)

    def __repr__(self) -> str:  # never print the secret
        return f"BotConfiguration(APP_ID={self.APP_ID!r}, APP_TYPE={self.APP_TYPE!r})"


class CachedCredentialsFactory(ServiceClientCredentialsFactory):
    """Keeps one credentials object per audience, so its token cache lives between sends."""

    def __init__(self, inner: ServiceClientCredentialsFactory) -> None:
        self._inner = inner
        self._cache: dict[tuple[Any, ...], Any] = {}

    async def is_valid_app_id(self, app_id: str) -> bool:
        return await self._inner.is_valid_app_id(app_id)

    async def is_authentication_disabled(self) -> bool:
        return await self._inner.is_authentication_disabled()

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Any:
        key = (app_id, oauth_scope, login_endpoint, validate_authority)
        if key not in self._cache:
            self._cache[key] = await self._inner.create_credentials(
                app_id, oauth_scope, login_endpoint, validate_authority
            )
        return self._cache[key]

    async def warm(self) -> None:
        """Refresh the bot's tokens in a thread, so sends never wait on Entra ID in the loop.

        botbuilder asks for the token synchronously, inside the event loop, when a
        request goes out; a token already in msal's cache makes that instant.
        """
        for credentials in list(self._cache.values()):
            if not getattr(credentials, "microsoft_app_id", None):
                continue  # authentication off: no token
            try:
                await asyncio.to_thread(credentials.get_access_token)
            except Exception as exc:  # the send itself will report it
                log.debug("Teams: could not refresh the bot's token: %s", exc)


def credentials_factory(credentials: TeamsCredentials) -> CachedCredentialsFactory:
    """What makes the bot's outbound credentials: from its password, or its certificate."""
    inner: ServiceClientCredentialsFactory
    if credentials.app_id and credentials.certificate_thumbprint and not credentials.app_password:
        inner = CertificateServiceClientCredentialsFactory(
            credentials.certificate_thumbprint,
            credentials.certificate_private_key,
            credentials.app_id,
            credentials.tenant_id,
        )
    else:
        inner = ConfigurationServiceClientCredentialFactory(BotConfiguration(credentials))
    return CachedCredentialsFactory(inner)


def authentication(
    credentials: TeamsCredentials,
    factory: CachedCredentialsFactory | None = None,
    **overrides: Any,
) -> ConfigurationBotFrameworkAuthentication:
    """botbuilder's authentication for these credentials.

    ``overrides`` are extra botbuilder configuration attributes (e.g.
    ``CHANNEL_SERVICE`` for a sovereign cloud).
    """
    install_off_loop_key_fetch()
    return ConfigurationBotFrameworkAuthentication(
        BotConfiguration(credentials, **overrides),
        credentials_factory=factory or credentials_factory(credentials),
    )

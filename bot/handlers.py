"""The default set of commands and actions, one register() per domain."""

from __future__ import annotations

from bot.core import Registry


def build_registry() -> Registry:
    from bot.charter import handlers as charter
    from bot.programme import handlers as programme
    from bot.reporting import handlers as reporting
    from bot.response import handlers as response
    from bot.training import handlers as training

    registry = Registry()
    programme.register(registry)
    charter.register(registry)
    training.register(registry)
    response.register(registry)
    reporting.register(registry)
    return registry

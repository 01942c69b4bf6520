"""Chat platform adapters, one package per platform.

Each package exposes ``create(relais, config) -> bot.platforms.Platform``;
``relais serve`` loads the packages of the platforms app.yaml enables. Platform
SDKs are imported here and only here.
"""

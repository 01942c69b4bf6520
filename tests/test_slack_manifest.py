"""The Slack app manifest creates the app in one step: everything Relais listens to is declared."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

from bot.cli import app


def test_manifest_declares_what_the_adapter_uses() -> None:
    result = CliRunner().invoke(app, ["slack", "manifest", "--url", "https://relais.acme.test/"])
    assert result.exit_code == 0, result.output
    manifest = yaml.safe_load(result.output)
    assert manifest["features"]["slash_commands"][0]["command"] == "/relais"
    assert (
        manifest["features"]["slash_commands"][0]["url"] == "https://relais.acme.test/slack/events"
    )
    assert manifest["features"]["shortcuts"][0]["callback_id"] == "relais_report"
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert {"app_home_opened", "message.im"} <= set(
        manifest["settings"]["event_subscriptions"]["bot_events"]
    )
    assert {"chat:write", "im:write", "users:read.email", "commands"} <= set(
        manifest["oauth_config"]["scopes"]["bot"]
    )
    assert (
        manifest["settings"]["interactivity"]["request_url"]
        == "https://relais.acme.test/slack/events"
    )


def test_socket_mode_manifest_has_no_urls() -> None:
    result = CliRunner().invoke(app, ["slack", "manifest", "--socket-mode"])
    manifest = yaml.safe_load(result.output)
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "url" not in manifest["features"]["slash_commands"][0]
    assert "request_url" not in manifest["settings"]["interactivity"]


def test_manifest_refuses_plain_http() -> None:
    result = CliRunner().invoke(app, ["slack", "manifest", "--url", "http://relais.acme.test"])
    assert result.exit_code == 1 and "https" in result.output


def test_a_filled_in_manifest_keeps_no_instructions_to_fill_it_in() -> None:
    for args in (["--url", "https://relais.acme.test"], ["--socket-mode"]):
        result = CliRunner().invoke(app, ["slack", "manifest", *args])
        assert result.exit_code == 0, result.output
        comments = [line for line in result.output.splitlines() if line.lstrip().startswith("#")]
        assert comments == [], comments
        assert "relais.example.com" not in result.output
        assert "Replace" not in result.output and "delete the" not in result.output

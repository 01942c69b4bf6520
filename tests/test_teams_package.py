"""`relais teams package`: a zip Teams accepts, naming the configured bot."""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app as cli

BOT_ID = "0b6c2f0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
GUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGBA pixels of a PNG (8-bit RGBA, unfiltered rows, as Relais writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert (depth, colour) == (8, 6)
    idat = b""
    position = 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        if kind == b"IDAT":
            idat += data[position + 8 : position + 8 + length]
        position += 12 + length
    raw = zlib.decompress(idat)
    stride = width * 4 + 1
    found = []
    for y in range(height):
        row = raw[y * stride : (y + 1) * stride]
        assert row[0] == 0
        found += [row[1 + x * 4 : 5 + x * 4] for x in range(width)]
    return width, height, found


def package(tmp_path: Path, *extra: str) -> tuple[int, str, Path]:
    out = tmp_path / "relais-teams.zip"
    result = CliRunner().invoke(
        cli,
        [
            "teams",
            "package",
            "--config",
            str(Path(__file__).resolve().parent.parent / "app.yaml"),
            "--out",
            str(out),
            *extra,
        ],
    )
    return result.exit_code, result.output, out


def test_the_package_names_the_configured_bot(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import re

    monkeypatch.setenv("MicrosoftAppId", BOT_ID.upper())
    code, output, out = package(tmp_path, "--website-url", "https://norvel.example/relais")
    assert code == 0, output
    assert str(out) in output and BOT_ID.upper() in output
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == [
            "color.png",
            "en.json",
            "manifest.json",
            "outline.png",
        ]
        manifest = json.loads(archive.read("manifest.json"))
        english = json.loads(archive.read("en.json"))
        color = pixels(archive.read("color.png"))
        outline = pixels(archive.read("outline.png"))
    assert manifest["manifestVersion"] == "1.17" and manifest["version"] == "1.0.0"
    assert re.match(GUID, manifest["id"]) and manifest["id"] == BOT_ID
    (bot,) = manifest["bots"]
    assert bot["botId"] == BOT_ID and set(bot["scopes"]) == {"personal", "team", "groupChat"}
    commands = bot["commandLists"][0]["commands"]
    titles = [command["title"] for command in commands]
    assert len(commands) <= 10 and {"help", "lesson", "charter", "share", "report"} <= set(titles)
    assert "results" not in titles  # coordinators only: not suggested to everyone
    assert all(len(c["title"]) <= 32 and len(c["description"]) <= 128 for c in commands)
    lesson = titles.index("lesson")
    assert commands[lesson]["description"] == "recevoir votre prochaine micro-leçon tout de suite"
    assert english[f"bots[0].commandLists[0].commands[{lesson}].description"] == (
        "get your next micro-lesson now"
    )
    assert manifest["localizationInfo"] == {
        "defaultLanguageTag": "fr",
        "additionalLanguages": [{"languageTag": "en", "file": "en.json"}],
    }
    assert manifest["developer"]["websiteUrl"] == "https://norvel.example/relais"
    assert manifest["developer"]["privacyUrl"] == "https://norvel.example/relais"
    assert len(manifest["name"]["short"]) <= 30 and len(manifest["description"]["short"]) <= 80
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert color[:2] == (192, 192) and outline[:2] == (32, 32)
    # The outline icon is white on transparency, nothing else.
    assert all(p[3] == 0 or p[:3] == b"\xff\xff\xff" for p in outline[2])
    assert any(p[3] == 255 for p in outline[2]) and any(p[3] == 0 for p in outline[2])
    assert len({p for p in color[2]}) > 2 and all(p[3] == 255 for p in color[2])


def test_package_options(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MicrosoftAppId", BOT_ID)
    teams_app = "11111111-2222-3333-4444-555555555555"
    code, output, out = package(
        tmp_path,
        "--website-url",
        "https://norvel.example/relais",
        "--privacy-url",
        "https://norvel.example/privacy",
        "--version",
        "1.2.3",
        "--app-id",
        teams_app,
    )
    assert code == 0, output
    manifest = json.loads(zipfile.ZipFile(out).read("manifest.json"))
    assert manifest["id"] == teams_app and manifest["bots"][0]["botId"] == BOT_ID
    assert manifest["version"] == "1.2.3"
    assert manifest["developer"]["privacyUrl"] == "https://norvel.example/privacy"


@pytest.mark.parametrize(
    ("environment", "arguments", "expected"),
    [
        ({}, ["--website-url", "https://norvel.example/"], "export MicrosoftAppId"),
        ({"MicrosoftAppId": BOT_ID}, [], "--website-url"),
        ({"MicrosoftAppId": "not-a-guid"}, ["--website-url", "https://n.example/"], "GUID"),
        (
            {"MicrosoftAppId": BOT_ID},
            ["--website-url", "http://norvel.example/"],
            "https:// address",
        ),
        (
            {"MicrosoftAppId": BOT_ID},
            ["--website-url", "https://norvel.example/", "--version", "1.0"],
            "1.0.0",
        ),
    ],
)
def test_package_refusals_say_what_is_wrong(
    tmp_path: Path, monkeypatch, environment: dict[str, str], arguments: list[str], expected: str
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("MicrosoftAppId", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    code, output, out = package(tmp_path, *arguments)
    assert code == 1 and expected in output and "Traceback" not in output
    assert not out.exists()


def test_teams_commands_are_listed() -> None:
    result = CliRunner().invoke(cli, ["teams", "--help"])
    assert result.exit_code == 0 and "package" in result.output

"""app.yaml validation: good config loads, bad config names file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import MODEL_DEFAULTS, EnvRef, load_config, parse_config
from bot.problems import ProblemsError
from tests.conftest import DEMO_CONFIG

DEMO = DEMO_CONFIG.read_text(encoding="utf-8")


def problems_of(text: str, lang: str = "en") -> list[str]:
    with pytest.raises(ProblemsError) as caught:
        parse_config(text, "app.yaml", lang)
    return [str(problem) for problem in caught.value.problems]


def line_of(needle: str, text: str = DEMO) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_demo_config_loads_with_model_defaults() -> None:
    config = load_config(DEMO_CONFIG)
    assert config.programme.organisation_model == "hub_and_spoke"
    assert (
        config.programme.effective("broadcasters")
        == MODEL_DEFAULTS["hub_and_spoke"]["broadcasters"]
    )
    assert config.platforms.enabled() == ["console"]
    assert "coordinator" in config.roles_of("CLAIRE.DUBOIS@example.com")
    assert config.roles_of("marc.fontaine@example.com") == {"manager", "crisis_cell"}
    assert config.schedules.lessons == "0 10 * * tue,thu"


def test_override_of_model_default() -> None:
    text = DEMO.replace(
        "organisation_model: hub_and_spoke",
        "organisation_model: centralized\n  broadcasters: [central_team, department_relays]",
    )
    config = parse_config(text)
    assert config.programme.effective("broadcasters") == ["central_team", "department_relays"]
    assert config.programme.effective("escalation_path") == ["central_team"]


@pytest.mark.parametrize(
    ("old", "new", "needle", "expected"),
    [
        (
            "organisation_model: hub_and_spoke",
            "organisation_model: hubspoke",
            "organisation_model",
            "programme.organisation_model: expected one of: 'centralized', 'organic', 'hub_and_spoke', 'dandelion', 'honeycomb'",
        ),
        (
            "zone: Europe/Paris",
            "zone: Mars/Olympus",
            "zone: Mars",
            "time.zone: 'Mars/Olympus' is not a time zone",
        ),
        (
            "bot_token: ${SLACK_BOT_TOKEN}",
            "bot_token: xoxb-1234-secret",
            "bot_token",
            "platforms.slack.bot_token: secrets are never written in app.yaml: reference an environment variable as ${NAME}",
        ),
        (
            'lessons: "0 10 * * tue,thu"',
            'lessons: "0 25 * * tue"',
            'lessons: "0 25',
            "schedules.lessons: '0 25 * * tue' is not a cron schedule",
        ),
        (
            "  batch_size: 50",
            "  batch_size: 50\n  colour: red",
            "colour",
            "delivery.colour: unknown key (check its spelling)",
        ),
        (
            "  max_attempts: 8",
            "  max_attempts: many",
            "max_attempts",
            "delivery.max_attempts: expected a whole number",
        ),
        (
            "relays: [thomas.girard@example.com]",
            "relays: [thomas.girard]",
            "thomas.girard]",
            "'thomas.girard' is not an e-mail address",
        ),
        (
            "      department: legal",
            "      department: lawyers",
            "department: lawyers",
            "escalation.routing.3.department: no department has the id 'lawyers'",
        ),
        (
            "    business_unit: business\n    name: { fr: Ventes",
            "    business_unit: wholesale\n    name: { fr: Ventes",
            "business_unit: wholesale",
            "departments.3.business_unit: no business unit has the id 'wholesale'",
        ),
        (
            "  available: [fr, en]",
            "  available: [fr]",
            "available: [fr]",
            "languages.available: Relais needs at least fr and en",
        ),
    ],
)
def test_bad_config_names_line_and_key(old: str, new: str, needle: str, expected: str) -> None:
    assert old in DEMO
    text = DEMO.replace(old, new, 1)
    found = problems_of(text)
    line = line_of(needle, text)
    assert any(
        problem.startswith(f"app.yaml:{line}: ") and expected in problem for problem in found
    ), found


def test_several_problems_reported_at_once() -> None:
    text = DEMO.replace("hub_and_spoke", "hubspoke").replace("Europe/Paris", "Nowhere/Land")
    assert len(problems_of(text)) == 2


def test_yaml_syntax_error_has_line() -> None:
    text = DEMO.replace("  available: [fr, en]", "  available: [fr, en")
    found = problems_of(text)
    assert found[0].startswith("app.yaml:") and "not valid YAML" in found[0]
    assert int(found[0].split(":")[1]) >= line_of("available: [fr, en")


def test_problems_in_french() -> None:
    text = DEMO.replace("zone: Europe/Paris", "zone: Mars/Olympus")
    found = problems_of(text, lang="fr")
    assert "«\u202fMars/Olympus\u202f» n’est pas un fuseau horaire" in found[0], found


def test_env_ref_resolves_from_environment() -> None:
    config = load_config(DEMO_CONFIG)
    token = config.platforms.slack.bot_token
    assert isinstance(token, EnvRef) and token.variable == "SLACK_BOT_TOKEN"
    assert token.resolve({"SLACK_BOT_TOKEN": "xoxb-from-env"}) == "xoxb-from-env"
    assert token.resolve({}) is None


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProblemsError) as caught:
        load_config(tmp_path / "nope.yaml")
    assert "file not found" in str(caught.value)


def test_not_a_mapping() -> None:
    assert problems_of("- just\n- a list\n") == ["app.yaml:1: expected a mapping of keys to values"]


def test_cron_weekday_numbers_are_refused() -> None:
    text = DEMO.replace('lessons: "0 10 * * tue,thu"', 'lessons: "0 10 * * 2,4"')
    found = problems_of(text)
    assert found == [
        f"app.yaml:{line_of('lessons: ', text)}: schedules.lessons: '0 10 * * 2,4': write weekdays as names (mon, tue, … sun), not numbers"
    ]


def test_duplicate_track_id_names_its_path() -> None:
    text = DEMO.replace("    - id: relay\n", "    - id: basics\n")
    found = problems_of(text)
    assert any(
        "training.tracks.1.id: the id 'basics' is used twice" in problem for problem in found
    ), found


def test_escalation_section_errors_name_the_key_and_line() -> None:
    shadowed = DEMO.replace(
        "    - category: complaint\n      keywords: [recrutement",
        "    - category: complaint\n      department: sales\n    - category: complaint\n      keywords: [recrutement",
    )
    assert any(
        "escalation.routing.1: never used: an earlier rule takes every 'complaint' case" in p
        for p in problems_of(shadowed)
    )
    unknown = DEMO.replace("    - category: praise\n", "    - category: kudos\n")
    assert any("escalation.routing.5.category: expected one of" in p for p in problems_of(unknown))
    backup = DEMO.replace(
        "    backup_relays: [ines.moreau@example.com]\n    managers: [marc",
        "    backup_relays: [karim.benali@example.com]\n    managers: [marc",
    )
    found = problems_of(backup)
    line = line_of("backup_relays: [karim.benali@example.com]", backup)
    assert (
        f"app.yaml:{line}: departments.1.backup_relays.0: karim.benali@example.com is already a relay of this department"
        in found
    )
    both = DEMO.replace("  repeats: 2\n", "  repeats: 2\n  acknowledge_within_minutes: 30\n")
    assert any(
        "give either deadlines or acknowledge_within_minutes" in p for p in problems_of(both)
    )


def test_older_escalation_settings_still_load() -> None:
    older = DEMO.replace(
        "  deadlines: { critical: 5, high: 15, normal: 60, low: 240 }\n",
        "  acknowledge_within_minutes: 45\n",
    ).replace("chain: [backup_relays,", "chain: [backup_relay,")
    config = parse_config(older)
    assert config.escalation.deadline_minutes.minutes("normal") == 45
    assert config.escalation.deadline_minutes.minutes("critical") == 5


def test_a_proposed_playbook_must_exist_in_the_content(tmp_path: Path) -> None:
    from bot.content.library import load_library
    from tests.conftest import DEMO_CONTENT

    text = DEMO.replace("default_playbook: storm-power-outage", "default_playbook: volcano")
    (tmp_path / "app.yaml").write_text(text, encoding="utf-8")
    config = load_config(tmp_path / "app.yaml")
    _, problems = load_library(DEMO_CONTENT, config, "en")
    line = line_of("default_playbook: volcano", text)
    assert [str(p) for p in problems] == [
        f"{tmp_path / 'app.yaml'}:{line}: escalation.crisis_proposal.default_playbook: "
        "no playbook has the id 'volcano' in content/playbooks"
    ]

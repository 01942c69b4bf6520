"""Property-based fuzzing of every parser that reads what someone else wrote.

Content files, app.yaml, the HR CSV, Slack requests and Teams activities:
whatever the input, the parser answers with a clear problem (or a 4xx on
HTTP), never an exception or a 500. The budget is hypothesis' "ci" profile
(tests/conftest.py); ``HYPOTHESIS_PROFILE=deep`` digs further.
"""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bot.config import load_config
from bot.content.library import load_library
from bot.i18n import Tr
from bot.members.importer import ImportReport, read_rows
from bot.members.models import Member
from bot.problems import Problem, ProblemsError
from tests.conftest import DEMO_CONFIG, DEMO_CONTENT

# JSON-like values, as a hostile sender or a careless editor would write them.
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=16,
)


def mutate(document: Any, path: list[Any], value: Any) -> Any:
    """``document`` with the node at (a prefix of) ``path`` replaced by ``value``."""
    if not path or not isinstance(document, dict | list) or not document:
        return value
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        keys = sorted(document, key=str)
        key = keys[head % len(keys)]
        return {**document, key: mutate(document[key], rest, value)}
    index = head % len(document)
    copy = list(document)
    copy[index] = mutate(copy[index], rest, value)
    return copy


paths = st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=5)


# --- app.yaml -------------------------------------------------------------------------------

DEMO = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))


@given(text=st.text(max_size=400))
def test_any_text_as_app_yaml_is_refused_with_problems(tmp_path_factory, text: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("config") / "app.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path, "en")
    except ProblemsError as problems:
        assert problems.problems and all(isinstance(p, Problem) for p in problems.problems)


@given(path=paths, value=values)
def test_app_yaml_with_any_value_anywhere_loads_or_names_the_problem(
    tmp_path_factory, path: list[int], value: Any
) -> None:  # type: ignore[no-untyped-def]
    file = tmp_path_factory.mktemp("config") / "app.yaml"
    file.write_text(yaml.safe_dump(mutate(DEMO, path, value), allow_unicode=True), encoding="utf-8")
    try:
        load_config(file, "en")
    except ProblemsError as problems:
        rendered = [str(p) for p in problems.problems]
        assert rendered and all(line.startswith(str(file)) for line in rendered), rendered


# --- content files --------------------------------------------------------------------------

LESSON = next(sorted((DEMO_CONTENT / "lessons").rglob("*.md")).__iter__())
LESSON_TEXT = LESSON.read_text(encoding="utf-8")
FRONT = yaml.safe_load(LESSON_TEXT.split("---", 2)[1])
CONFIG = load_config(DEMO_CONFIG, "en")


def _load_one(root: Path, relative: Path, text: str) -> list[Problem]:
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    _library, problems = load_library(root, CONFIG, "en")
    return problems


@given(text=st.text(max_size=600))
def test_any_text_as_a_lesson_file_is_loaded_or_refused_with_its_file_and_line(
    tmp_path_factory, text: str
) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("content")
    relative = LESSON.relative_to(DEMO_CONTENT)
    problems = _load_one(root, relative, text)
    assert all(isinstance(p, Problem) for p in problems)


@given(path=paths, value=values, body=st.text(max_size=200))
def test_a_lesson_with_any_front_matter_value_is_loaded_or_refused(
    tmp_path_factory, path: list[int], value: Any, body: str
) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("content")
    front = yaml.safe_dump(mutate(FRONT, path, value), allow_unicode=True)
    problems = _load_one(root, LESSON.relative_to(DEMO_CONTENT), f"---\n{front}---\n{body}\n")
    assert all(isinstance(p, Problem) for p in problems)


# --- the HR CSV -----------------------------------------------------------------------------

HEADER = "email,name,department,location,language,time_zone,roles,slack_user_id,teams_id"
cells = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)
LIMITS = {
    name: column.type.length
    for name, column in Member.__table__.c.items()  # type: ignore[attr-defined]
    if getattr(column.type, "length", None)
}


def _csv_rows(rows: list[list[str]]) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER.split(","))
    writer.writerows(rows)
    return out.getvalue()


@given(
    rows=st.lists(st.lists(cells, min_size=0, max_size=10), max_size=6),
    raw=st.booleans(),
    junk=st.binary(max_size=200),
)
def test_any_csv_is_read_into_rows_that_fit_the_database_or_problems(
    tmp_path_factory, rows: list[list[str]], raw: bool, junk: bytes
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("csv") / "members.csv"
    if raw:
        path.write_bytes(HEADER.encode() + b"\n" + junk)
    else:
        path.write_text(_csv_rows(rows), encoding="utf-8")
    report = ImportReport()
    for row in read_rows(path, CONFIG, Tr("en"), report):
        for name, value in row.values.items():
            if isinstance(value, str) and name in LIMITS:
                # What PostgreSQL would refuse must be a problem of the row, not a crash.
                assert len(value) <= LIMITS[name], (name, len(value))
        for platform, user_id in row.ids.items():
            assert 0 < len(user_id) <= 200, (platform, user_id)
    assert all(isinstance(p, Problem) and p.line >= 1 for p in report.problems)


# --- Slack: the parser, then the real endpoint with signed bodies ---------------------------

SLACK_KEYS = [
    "type",
    "event",
    "event_id",
    "user",
    "user_id",
    "command",
    "text",
    "actions",
    "challenge",
    "team",
    "team_id",
    "view",
    "trigger_id",
    "container",
    "channel",
    "channel_type",
    "subtype",
    "bot_id",
    "message",
    "callback_id",
    "state",
]
slack_like = st.recursive(
    scalars
    | st.sampled_from(
        ["event_callback", "block_actions", "message", "message_action", "/relais", "help"]
    ),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(SLACK_KEYS) | st.text(max_size=6), children, max_size=6)
    ),
    max_leaves=20,
)


def slack_body(shape: Any, as_form: bool, raw: str | None) -> tuple[str, str]:
    if raw is not None:
        return raw, "application/x-www-form-urlencoded" if as_form else "application/json"
    if as_form:
        fields = shape if isinstance(shape, dict) else {"payload": shape}
        flat = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}
        return urlencode(flat), "application/x-www-form-urlencoded"
    return json.dumps(shape), "application/json"


@given(shape=slack_like, as_form=st.booleans(), raw=st.none() | st.text(max_size=200))
def test_the_slack_parser_accepts_or_refuses_any_body(
    shape: Any, as_form: bool, raw: str | None
) -> None:
    from adapters.slack.inbound import Malformed, check

    body, content_type = slack_body(shape, as_form, raw)
    try:
        parsed = check(body, content_type)
    except Malformed:
        return
    assert isinstance(parsed, dict) and parsed


# --- Teams: the parsers, then the real endpoint --------------------------------------------

TEAMS_KEYS = [
    "type",
    "id",
    "text",
    "textFormat",
    "value",
    "name",
    "from",
    "recipient",
    "conversation",
    "channelData",
    "entities",
    "serviceUrl",
    "channelId",
    "action",
    "membersAdded",
    "attachments",
    "relais_action",
    "relais_value",
    "aadObjectId",
    "conversationType",
    "mentioned",
]
teams_like = st.recursive(
    scalars | st.sampled_from(["message", "invoke", "adaptiveCard/action", "personal", "mention"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(TEAMS_KEYS) | st.text(max_size=6), children, max_size=6)
    ),
    max_leaves=24,
)


@given(shape=st.dictionaries(st.sampled_from(TEAMS_KEYS), teams_like, max_size=8))
def test_teams_activities_of_any_shape_are_read_without_crashing(shape: dict[str, Any]) -> None:
    from botbuilder.schema import Activity

    from adapters.teams.activities import event_key, message_text
    from adapters.teams.cards import parse_submit

    try:
        activity = Activity().deserialize(shape)
    except Exception:  # the endpoint answers 400 "not an activity" to these
        return
    try:
        text = message_text(activity)
    except (AttributeError, TypeError) as exc:  # pragma: no cover - what this test hunts
        raise AssertionError(f"message_text crashed on {shape!r}: {exc!r}") from exc
    assert isinstance(text, str)
    assert len(event_key(activity)) <= 120
    submitted = parse_submit(activity.value)
    assert submitted is None or isinstance(submitted.action_id, str)


@given(
    secret=st.text(alphabet=string.ascii_letters + string.digits + "-_.", min_size=12, max_size=40),
    field=st.sampled_from(["bot_token", "signing_secret", "app_token"]),
)
def test_a_secret_written_in_app_yaml_is_refused_without_being_repeated(
    tmp_path_factory, secret: str, field: str
) -> None:  # type: ignore[no-untyped-def]
    document = json.loads(json.dumps(DEMO))
    document["platforms"]["slack"][field] = secret
    file = tmp_path_factory.mktemp("config") / "app.yaml"
    file.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ProblemsError) as refused:
        load_config(file, "en")
    shown = "\n".join(str(p) for p in refused.value.problems)
    assert f"platforms.slack.{field}" in shown and secret not in shown

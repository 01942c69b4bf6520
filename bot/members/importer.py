"""Importing members from the HR CSV.

Columns: email, name, department, location, language, time_zone, roles,
slack_user_id, teams_id (only email and name are required; roles are
separated by ``;``). Re-importing updates members by e-mail and never
duplicates them; a member's own opt-out is never overridden. A bad row is
reported with its line number and the other rows are imported.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine
from sqlmodel import select

from bot.clock import utcnow
from bot.config import ROLES, AppConfig
from bot.db import session_scope
from bot.i18n import Tr
from bot.members.models import Member
from bot.problems import Problem

REQUIRED = ("email", "name")
OPTIONAL = ("department", "location", "language", "time_zone", "roles", "slack_user_id", "teams_id")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")
BATCH = 1000
# Platform ids the bot may have learned itself (by e-mail look-up) are kept when the CSV has none.
KEPT_WHEN_EMPTY = ("slack_user_id", "teams_id")


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def rows_ok(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass(frozen=True)
class Row:
    line: int
    values: dict[str, Any]


def _zones_ok(zone: str, cache: dict[str, bool]) -> bool:
    if zone not in cache:
        try:
            ZoneInfo(zone)
            cache[zone] = True
        except (ZoneInfoNotFoundError, ValueError):
            cache[zone] = False
    return cache[zone]


def read_rows(path: Path, config: AppConfig, tr: Tr, report: ImportReport) -> Iterator[Row]:
    """Validated rows; problems go to the report with the CSV line number."""
    shown = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        report.problems.append(Problem(shown, 1, tr("cannot read the file: {error}", error=exc)))
        return
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.problems.append(
            Problem(shown, 1, tr("the file is not UTF-8 text (save it as CSV UTF-8)"))
        )
        return
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        report.problems.append(
            Problem(
                shown,
                1,
                tr.plural(
                    "missing column: {columns} (the first line must name the columns)",
                    "missing columns: {columns} (the first line must name the columns)",
                    len(missing),
                    columns=", ".join(missing),
                ),
            )
        )
        return
    unknown = [name for name in header if name and name not in REQUIRED + OPTIONAL]
    if unknown:
        report.problems.append(
            Problem(
                shown,
                1,
                tr.plural(
                    "unknown column ignored: {columns}",
                    "unknown columns ignored: {columns}",
                    len(unknown),
                    columns=", ".join(unknown),
                ),
            )
        )
    reader.fieldnames = header
    departments = {department.id for department in config.departments}
    languages = set(config.languages.available)
    zone_cache: dict[str, bool] = {}
    seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        values = {key: (value or "").strip() for key, value in record.items() if key}
        if None in record:
            report.problems.append(Problem(shown, line, tr("more values than columns")))
            continue
        if not any(values.values()):
            continue
        errors = []
        email = values.get("email", "").lower()
        if not EMAIL.match(email):
            errors.append(
                tr("email: '{value}' is not an e-mail address", value=values.get("email", ""))
            )
        elif email in seen:
            errors.append(
                tr("email: {email} already appears on line {line}", email=email, line=seen[email])
            )
        if not values.get("name"):
            errors.append(tr("name: required"))
        department = values.get("department") or None
        if department and department not in departments:
            errors.append(
                tr("department: no department has the id '{id}' in app.yaml", id=department)
            )
        language = (values.get("language") or config.languages.default).lower()
        if language not in languages:
            errors.append(
                tr(
                    "language: '{value}' is not one of {languages}",
                    value=language,
                    languages=", ".join(sorted(languages)),
                )
            )
        zone = values.get("time_zone") or config.time.zone
        if not _zones_ok(zone, zone_cache):
            errors.append(
                tr("time_zone: '{value}' is not a time zone (e.g. Europe/Paris)", value=zone)
            )
        roles = [
            role.strip().lower()
            for role in re.split(r"[;|]", values.get("roles", ""))
            if role.strip()
        ]
        bad_roles = [role for role in roles if role not in ROLES]
        if bad_roles:
            errors.append(
                tr.plural(
                    "roles: unknown role {roles}; use {known}",
                    "roles: unknown roles {roles}; use {known}",
                    len(bad_roles),
                    roles=", ".join(bad_roles),
                    known=", ".join(ROLES),
                )
            )
        slack_id = values.get("slack_user_id") or None
        if slack_id and not SLACK_ID.match(slack_id):
            errors.append(
                tr(
                    "slack_user_id: '{value}' is not a Slack user id (e.g. U024BE7LH)",
                    value=slack_id,
                )
            )
        if errors:
            report.problems.extend(Problem(shown, line, error) for error in errors)
            continue
        seen[email] = line
        yield Row(
            line,
            {
                "email": email,
                "name": values["name"],
                "department": department,
                "location": values.get("location") or None,
                "language": language,
                "time_zone": zone,
                "roles": sorted(set(roles)),
                "slack_user_id": slack_id,
                "teams_id": values.get("teams_id") or None,
            },
        )


def import_members(
    engine: Engine,
    path: Path,
    config: AppConfig,
    lang: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Create or update members from a CSV; every good row is stored, bad rows reported."""
    tr = Tr(lang)
    report = ImportReport()
    batch: list[Row] = []

    def flush() -> None:
        if not batch:
            return
        now = utcnow()
        with session_scope(engine) as session:
            emails = [row.values["email"] for row in batch]
            existing = {
                m.email: m
                for m in session.exec(select(Member).where(Member.email.in_(emails))).all()
            }  # type: ignore[attr-defined]
            new_rows = []
            for row in batch:
                member = existing.get(row.values["email"])
                if member is None:
                    new_rows.append(
                        {**row.values, "opted_in": True, "created_at": now, "updated_at": now}
                    )
                    continue
                changed = False
                for key, value in row.values.items():
                    if value is None and key in KEPT_WHEN_EMPTY:
                        continue  # an empty cell never unlinks a member already met in chat
                    if getattr(member, key) != value:
                        setattr(member, key, value)
                        changed = True
                if changed:
                    member.updated_at = now
                    report.updated += 1
                else:
                    report.unchanged += 1
            if new_rows:
                # A plain multi-row INSERT: ORM objects cost more than the database at 100,000 rows.
                session.connection().execute(Member.__table__.insert(), new_rows)  # type: ignore[attr-defined]
                report.created += len(new_rows)
        if progress:
            progress(len(batch))
        batch.clear()

    for row in read_rows(path, config, tr, report):
        batch.append(row)
        if len(batch) >= BATCH:
            flush()
    flush()
    return report


def count_lines(path: Path) -> int:
    """Data lines in the file, for a progress bar's total."""
    try:
        with path.open("rb") as handle:
            return max(0, sum(1 for _ in handle) - 1)
    except OSError:
        return 0

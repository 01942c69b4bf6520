"""Importing members from the HR CSV.

Columns: email, name, department, location, language, time_zone, roles, and
each platform adapter's id column (slack_user_id, teams_id), checked by that
adapter and kept in the member's per-platform address (only email and name are
required; roles are separated by ``;``). Re-importing updates members by e-mail and never
duplicates them; a member's own opt-out is never overridden. A bad row is
reported with its line number and the other rows are imported.

With ``sync``, the file is the whole company: members it does not list are
marked as left (they receive nothing more; their history stays for the
figures). A leaver listed again in a later import is active again. Marking
more than half of the active members as left is refused unless ``force``:
the wrong export is a classic mistake.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine, update
from sqlmodel import Session, select

from bot import audit, platforms
from bot.clock import utcnow
from bot.config import ROLES, AppConfig
from bot.db import session_scope
from bot.i18n import Tr
from bot.members.models import Address, Member
from bot.problems import Problem

REQUIRED = ("email", "name")
OPTIONAL = ("department", "location", "language", "time_zone", "roles")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
BATCH = 1000


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    returned: int = 0  # members who had left and are listed again: active again
    left: int | None = None  # with sync: members absent from the file, marked as left
    refused: SyncRefused | None = None  # sync refused: nothing was changed

    @property
    def rows_ok(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass(frozen=True)
class SyncRefused:
    """A sync that would mark too many people as left, so nothing was done."""

    leaving: int
    active: int


@dataclass(frozen=True)
class Row:
    line: int
    values: dict[str, Any]
    # platform -> the member's id there. An empty cell is absent: it never unlinks an id
    # Relais learned itself (by e-mail look-up or first contact).
    ids: dict[str, str] = field(default_factory=dict)


def _zones_ok(zone: str, cache: dict[str, bool]) -> bool:
    if zone not in cache:
        try:
            ZoneInfo(zone)
            cache[zone] = True
        except (ZoneInfoNotFoundError, ValueError):
            cache[zone] = False
    return cache[zone]


def _open(path: Path, tr: Tr, report: ImportReport) -> csv.DictReader | None:
    """The file as CSV records with lower-case column names, or None (the problem is reported)."""
    shown = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        report.problems.append(Problem(shown, 1, tr("cannot read the file: {error}", error=exc)))
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.problems.append(
            Problem(shown, 1, tr("the file is not UTF-8 text (save it as CSV UTF-8)"))
        )
        return None
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
        return None
    known = (*REQUIRED, *OPTIONAL, *(column.column for column in platforms.id_columns()))
    unknown = [name for name in header if name and name not in known]
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
    return reader


def emails_in(path: Path, tr: Tr, report: ImportReport) -> set[str] | None:
    """Every e-mail the file lists, even on rows with problems (those people have not left)."""
    scratch = ImportReport()  # read_rows reports the same warnings: keep them once
    reader = _open(path, tr, scratch)
    if reader is None:
        report.problems.extend(scratch.problems)
        return None
    return {(record.get("email") or "").strip().lower() for record in reader} - {""}


def read_rows(path: Path, config: AppConfig, tr: Tr, report: ImportReport) -> Iterator[Row]:
    """Validated rows; problems go to the report with the CSV line number."""
    shown = str(path)
    reader = _open(path, tr, report)
    if reader is None:
        return
    id_columns = {column.column: column for column in platforms.id_columns()}
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
        ids: dict[str, str] = {}
        for name, column in id_columns.items():
            value = values.get(name)
            if not value:
                continue
            problem = column.check(value, tr.lang)
            if problem:
                errors.append(f"{name}: {problem}")
            else:
                ids[column.platform] = value
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
            },
            ids,
        )


def import_members(
    engine: Engine,
    path: Path,
    config: AppConfig,
    lang: str | None = None,
    progress: Callable[[int], None] | None = None,
    sync: bool = False,
    force: bool = False,
) -> ImportReport:
    """Create or update members from a CSV; every good row is stored, bad rows reported.

    With ``sync``, members the file does not list are then marked as left
    (refused, with nothing changed, when that is more than half of the active
    members and ``force`` is not given).
    """
    tr = Tr(lang)
    report = ImportReport()
    batch: list[Row] = []
    present: set[str] | None = None
    if sync:
        present = emails_in(path, tr, report)
        if present is None:
            return report  # an unreadable file marks nobody as left
        leaving, active = _absent(engine, present)
        if len(leaving) * 2 > active and not force:
            report.refused = SyncRefused(len(leaving), active)
            return report

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
            updated: set[str] = set()
            unchanged: set[str] = set()
            for row in batch:
                member = existing.get(row.values["email"])
                if member is None:
                    new_rows.append(
                        {**row.values, "opted_in": True, "created_at": now, "updated_at": now}
                    )
                    if set(row.values.get("roles") or ()) - {"ambassador"}:  # beyond the default
                        audit.record(
                            session,
                            None,
                            "member.roles_changed",
                            row.values["email"],
                            {"source": [], "to": row.values["roles"]},
                        )
                    continue
                changed = False
                if member.left_at is not None:  # listed again: back in the company
                    member.left_at = None
                    report.returned += 1
                    changed = True
                for key, value in row.values.items():
                    if key == "roles" and sorted(member.roles) != value:
                        audit.record(
                            session,
                            None,
                            "member.roles_changed",
                            member.email,
                            {"source": sorted(member.roles), "to": value},
                        )
                    if getattr(member, key) != value:
                        setattr(member, key, value)
                        changed = True
                if changed:
                    member.updated_at = now
                    updated.add(member.email)
                else:
                    unchanged.add(member.email)
            if new_rows:
                # A plain multi-row INSERT: ORM objects cost more than the database at 100,000 rows.
                session.connection().execute(Member.__table__.insert(), new_rows)  # type: ignore[attr-defined]
                report.created += len(new_rows)
            relinked = _link_ids(session, [row for row in batch if row.ids], now)
            report.updated += len(updated | (relinked & unchanged))
            report.unchanged += len(unchanged - relinked)
        if progress:
            progress(len(batch))
        batch.clear()

    for row in read_rows(path, config, tr, report):
        batch.append(row)
        if len(batch) >= BATCH:
            flush()
    flush()
    if present is not None:
        report.left = mark_left(engine, _absent(engine, present)[0])
    return report


def _link_ids(session: Session, rows: list[Row], now: datetime) -> set[str]:
    """Keep the CSV's platform ids in the members' addresses; return the e-mails whose ids changed.

    An id given to another member before (a person whose e-mail changed) moves
    to the member the CSV names.
    """
    if not rows:
        return set()
    emails = [row.values["email"] for row in rows]
    ids_by_email = dict(
        session.execute(select(Member.email, Member.id).where(Member.email.in_(emails))).all()  # type: ignore[attr-defined]
    )
    wanted = {
        (ids_by_email[row.values["email"]], platform): user_id
        for row in rows
        for platform, user_id in row.ids.items()
    }
    member_ids = {member_id for member_id, _ in wanted}
    existing = {
        (address.member_id, address.platform): address
        for address in session.exec(select(Address).where(Address.member_id.in_(member_ids))).all()  # type: ignore[attr-defined]
    }
    changed: set[int] = set()
    for platform in {platform for _, platform in wanted}:
        given = {uid: mid for (mid, p), uid in wanted.items() if p == platform}
        held = session.execute(
            select(Address.user_id, Address.member_id).where(
                Address.platform == platform,
                Address.user_id.in_(list(given)),  # type: ignore[union-attr]
            )
        ).all()
        taken_back = [uid for uid, holder in held if given[uid] != holder]
        if taken_back:
            session.execute(
                update(Address)
                .where(Address.platform == platform, Address.user_id.in_(taken_back))  # type: ignore[union-attr]
                .values(user_id=None, updated_at=now)
                .execution_options(synchronize_session=False)
            )
    new_rows = []
    for (member_id, platform), user_id in wanted.items():
        address = existing.get((member_id, platform))
        if address is None:
            new_rows.append(
                {
                    "member_id": member_id,
                    "platform": platform,
                    "user_id": user_id,
                    "updated_at": now,
                }
            )
            changed.add(member_id)
        elif address.user_id != user_id:
            changed.add(member_id)
            session.execute(
                update(Address)
                .where(Address.id == address.id)  # type: ignore[arg-type]
                .values(user_id=user_id, updated_at=now)
                .execution_options(synchronize_session=False)
            )
    if new_rows:
        session.connection().execute(Address.__table__.insert(), new_rows)  # type: ignore[attr-defined]
    return {email for email, member_id in ids_by_email.items() if member_id in changed}


def _absent(engine: Engine, present: set[str]) -> tuple[list[int], int]:
    """Ids of the active members not in ``present``, and how many members are active."""
    with Session(engine) as session:
        active = session.execute(
            select(Member.id, Member.email).where(Member.left_at.is_(None))  # type: ignore[union-attr]
        ).all()
    return [member_id for member_id, email in active if email not in present], len(active)


def mark_left(engine: Engine, ids: list[int]) -> int:
    """Mark these members as left now (those already gone stay as they were); return how many."""
    now = utcnow()
    marked = 0
    with session_scope(engine) as session:
        for start in range(0, len(ids), BATCH):
            result = session.execute(
                update(Member)
                .where(Member.id.in_(ids[start : start + BATCH]), Member.left_at.is_(None))  # type: ignore[union-attr]
                .values(left_at=now, updated_at=now)
            )
            marked += result.rowcount  # type: ignore[attr-defined]
    return marked


def count_lines(path: Path) -> int:
    """Data lines in the file, for a progress bar's total."""
    try:
        with path.open("rb") as handle:
            return max(0, sum(1 for _ in handle) - 1)
    except OSError:
        return 0

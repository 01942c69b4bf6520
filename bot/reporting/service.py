"""Reporting's logic callable from chat, jobs, the CLI and the dashboard: who sees what, for when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot import permissions
from bot.config import AppConfig, Department
from bot.i18n import Tr
from bot.permissions import Reach
from bot.reporting import measures, periods
from bot.reporting.measures import Report
from bot.reporting.periods import Period


@dataclass(frozen=True)
class Scope:
    """What a reader sees: the whole programme, some departments, or only their own figures."""

    programme: bool
    departments: tuple[Department, ...]
    own: bool

    @property
    def department_ids(self) -> list[str] | None:
        """Ids to filter on; None for the whole programme."""
        return None if self.programme else [d.id for d in self.departments]

    @property
    def none(self) -> bool:
        return not (self.programme or self.departments or self.own)


def name_of(department: Department, tr: Tr) -> str:
    return department.name.get(tr.lang) or department.id


def find_department(config: AppConfig, text: str) -> Department | None:
    """A department by its id or its name in any language (case and accents as typed)."""
    wanted = text.strip().lower()
    for department in config.departments:
        if wanted == department.id or wanted in {n.lower() for n in department.name.values()}:
            return department
    return None


def scope_of(reach: Reach, config: AppConfig) -> Scope:
    departments = tuple(permissions.departments_in(reach, config))
    return Scope(reach.programme, departments, reach.own)


def narrow(scope: Scope, config: AppConfig, text: str, tr: Tr) -> Scope:
    """The scope of one department the reader asked for; ValueError (translated) when not theirs."""
    department = find_department(config, text)
    if department is None:
        known = ", ".join(d.id for d in scope.departments) or "—"
        raise ValueError(
            tr(
                "“{text}” is neither a period nor a department. Departments you can see: {known}.",
                text=text,
                known=known,
            )
        )
    if department not in scope.departments:
        raise ValueError(
            tr(
                "You cannot see the figures of {department}: your figures cover {known}.",
                department=name_of(department, tr),
                known=", ".join(name_of(d, tr) for d in scope.departments) or tr("only yourself"),
            )
        )
    return Scope(False, (department,), False)


def parse_arguments(
    text: str, scope: Scope, config: AppConfig, now: datetime, tr: Tr
) -> tuple[Period, Scope]:
    """`[period] [department]` in either order; a department name may have spaces."""
    period = periods.current("week", now, config.time.zone)
    words = text.split()
    rest = []
    for word in words:
        if periods.is_period(word):
            period = periods.parse(word, now, config.time.zone, tr)
        else:
            rest.append(word)
    if rest:
        scope = narrow(scope, config, " ".join(rest), tr)
    return period, scope


def build(
    session: Session,
    config: AppConfig,
    content: object,
    period: Period,
    scope: Scope,
    member_id: int | None = None,
) -> Report:
    version = measures.charter_version(content)
    if member_id is not None:
        return measures.build(session, config, period, charter_version=version, member_id=member_id)
    return measures.build(session, config, period, scope.department_ids, charter_version=version)

"""`relais members export EMAIL` and `relais members erase EMAIL`: for the data protection officer."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.cli import (
    ConfigOption,
    _prepared_engine,
    err,
    fail,
    members_app,
    operator_programme,
    out,
    tr,
)
from bot.permissions import ERASE, MEMBERS


def _named_in_config(programme, email: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Where app.yaml still names the person (it is a file: the operator edits it)."""
    email = email.lower()
    places = [
        f"departments[{d.id}].{key}"
        for d in programme.departments
        for key in ("relays", "backup_relays", "managers")
        if email in getattr(d, key)
    ]
    places += [f"business_units[{u.id}].hubs" for u in programme.business_units if email in u.hubs]
    if programme.roles_of(email):
        places.append("people")
    return places


def register(app: typer.Typer) -> None:
    @members_app.command(
        "export",
        help=tr(
            "Print everything Relais holds about a person as JSON (also for someone who has left)."
        ),
    )
    def export(
        email: Annotated[str, typer.Argument(help=tr("The person's e-mail address."))],
        output: Annotated[
            Path | None,
            typer.Option("--output", "-o", help=tr("Write the JSON to this file instead.")),
        ] = None,
        config: ConfigOption = None,
    ) -> None:
        from bot import audit
        from bot.db import session_scope
        from bot.members import service as members
        from bot.privacy import service

        programme = operator_programme(config, MEMBERS)
        engine = _prepared_engine()
        with session_scope(engine) as session:
            member = members.by_email(session, email)
            if member is None:
                fail(tr("No member has the e-mail address {email}.", email=email))
            text = service.as_json(service.export(session, member, programme))
            audit.record(session, None, "member.exported", member.email, {"size": len(text)})
        if output is None:
            sys.stdout.write(text + "\n")
            return
        try:
            output.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            fail(tr("Cannot write {file}: {error}", file=output, error=exc.strerror or exc))
        out.print(tr("Written: {file}", file=output), highlight=False, markup=False)

    @members_app.command(
        "erase",
        help=tr(
            "Erase a person: their e-mail, name, platform ids and words are removed from every "
            "table; the figures that count them stay right. Cannot be undone."
        ),
    )
    def erase(
        email: Annotated[str, typer.Argument(help=tr("The person's e-mail address."))],
        yes: Annotated[
            bool, typer.Option("--yes", help=tr("Do not ask for confirmation."))
        ] = False,
        config: ConfigOption = None,
    ) -> None:
        from bot import audit
        from bot.db import session_scope
        from bot.members import service as members
        from bot.privacy import service

        programme = operator_programme(config, ERASE)
        engine = _prepared_engine()
        with session_scope(engine) as session:
            member = members.by_email(session, email)
            if member is None:
                fail(tr("No member has the e-mail address {email}.", email=email))
        if not yes and not typer.confirm(
            tr("Erase {email} for good? This cannot be undone.", email=member.email), err=True
        ):
            fail(tr("Nothing erased."))
        with session_scope(engine) as session:
            found = members.by_email(session, email)
            if found is None:
                fail(tr("No member has the e-mail address {email}.", email=email))
            erasure = service.erase(session, found)
            audit.record(
                session,
                None,
                "member.erased",
                service.tombstone_name(erasure.member_id),
                {"rows": erasure.rows},
            )
        out.print(
            tr(
                "Erased: {email} is now {label}; {count} rows changed. The figures that "
                "counted them are unchanged.",
                email=email.strip().lower(),
                label=service.tombstone_name(erasure.member_id),
                count=sum(erasure.rows.values()) + 1,
            ),
            highlight=False,
            markup=False,
        )
        places = _named_in_config(programme, email)
        if places:
            err.print(
                tr(
                    "app.yaml still names {email} in {places}: remove it there too.",
                    email=email.strip().lower(),
                    places=", ".join(places),
                ),
                highlight=False,
                markup=False,
            )

"""`relais meeting announce|status`: relays' round tables from the server's command line.

The command line runs as the operator principal and asks the permission model
(``meeting.announce``) like every entry point. It queues the invitations;
`relais serve` sends them.
"""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli import ConfigOption, _prepared_engine, failing_on, operator_programme, out, tr
from bot.permissions import MEETING


def register(app: typer.Typer) -> None:
    meeting_app = typer.Typer(
        help=tr("Relays' round tables: announce one, see who answered."),
        no_args_is_help=True,
    )
    app.add_typer(meeting_app, name="meeting")

    @meeting_app.command(
        "announce",
        help=tr(
            "Announce a round table to every relay: each sees the time in their own zone, "
            "answers, and is reminded the day before."
        ),
    )
    def announce(
        day: Annotated[str, typer.Argument(help=tr("The date, e.g. 2026-12-01."))],
        clock: Annotated[str, typer.Argument(help=tr("The time, e.g. 17:30."))],
        zone: Annotated[
            str, typer.Argument(help=tr("The time zone of that time, e.g. Europe/Paris."))
        ],
        link: Annotated[str, typer.Argument(help=tr("The link to join the meeting."))],
        title: Annotated[str, typer.Argument(help=tr("The meeting's title."))],
        config: ConfigOption = None,
    ) -> None:
        from bot.audit import service as audit
        from bot.community import service
        from bot.community.handlers import problem
        from bot.community.messages import invitation
        from bot.db import session_scope
        from bot.delivery.models import OPERATIONAL
        from bot.delivery.outbox import enqueue_many
        from bot.i18n import Tr
        from bot.notify import to_member

        programme = operator_programme(config, MEETING)
        engine = _prepared_engine()
        with failing_on(service.CommunityError, say=lambda error: problem(tr, error)):
            starts, zone, link, title = service.read_meeting(day, clock, zone, link, title)
            with session_scope(engine) as session:
                meeting, invited = service.announce(
                    session, programme, None, title, starts, zone, link
                )
                enqueue_many(
                    session,
                    [
                        to_member(
                            member,
                            programme,
                            invitation(meeting, member, None, Tr(member.language)),
                            key=f"meeting:{meeting.id}:invite",
                            kind="meeting",
                            subject=f"meeting:{meeting.id}",
                            purpose=OPERATIONAL,
                        )
                        for member in invited
                    ],
                )
                meeting_id = meeting.id
                audit.record(session, None, "meeting.announced", meeting_id, {"starts_at": starts})
                when = service.when_for(meeting, zone, tr)
        out.print(
            tr.plural(
                "Meeting {id} announced to {count} relay: {title}, {when}.",
                "Meeting {id} announced to {count} relays: {title}, {when}.",
                len(invited),
                id=meeting_id,
                count=len(invited),
                title=title,
                when=when,
            ),
            highlight=False,
            markup=False,
        )

    @meeting_app.command(
        "status", help=tr("Who said they will come, who cannot, who has not answered.")
    )
    def status(
        meeting_id: Annotated[
            int | None, typer.Argument(help=tr("The meeting's number (default: the next one)."))
        ] = None,
        config: ConfigOption = None,
    ) -> None:
        from bot.community import service
        from bot.community.handlers import problem
        from bot.db import session_scope

        programme = operator_programme(config, MEETING)
        engine = _prepared_engine()
        with (
            failing_on(service.CommunityError, say=lambda error: problem(tr, error)),
            session_scope(engine) as session,
        ):
            meeting = service.find_meeting(session, meeting_id)
            found = service.answers(session, meeting)
        lines = [
            f"{meeting.title} ({meeting.id}) — {service.when_for(meeting, programme.time.zone, tr)}",
            tr("Coming ({count})", count=len(found.coming)),
            *(f"  {m.name} <{m.email}>" for m in found.coming),
            tr("Can't come ({count})", count=len(found.not_coming)),
            *(f"  {m.name} <{m.email}>" for m in found.not_coming),
            tr("No answer yet ({count})", count=len(found.silent)),
            *(f"  {m.name} <{m.email}>" for m in found.silent),
        ]
        if meeting.attendance_by:
            lines.append(tr("Came ({count})", count=len(found.attended)))
            lines.extend(f"  {m.name} <{m.email}>" for m in found.attended)
        out.print("\n".join(lines), highlight=False, markup=False)

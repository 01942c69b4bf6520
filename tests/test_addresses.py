"""Where members are reached: learning the same address twice at once is not an error."""

from __future__ import annotations

import threading
import time

from sqlalchemy import text
from sqlmodel import Session, select

from bot.members import service as members
from bot.members.models import Address, Member


def test_two_sends_learning_the_same_address_at_once_both_record(
    runtime_factory, postgres_url
) -> None:  # type: ignore[no-untyped-def]
    """Two messages to one member sent at once both open the DM and remember it.

    The second transaction must update the address, not fail on the unique
    constraint: that failure rolled back the record of a message already sent,
    which was then sent again when its claim expired.
    """
    runtime = runtime_factory(postgres_url)
    engine = runtime.engine
    with Session(engine) as session:
        emma = session.exec(
            select(Member.id).where(Member.email == "emma.wilson@example.com")
        ).one()
    errors: list[BaseException] = []

    first = Session(engine)
    members.remember_address(first, emma, "slack", channel_id="D0EMMA001")
    first.flush()  # row written, not committed: the second writer will wait on it

    def second() -> None:
        try:
            with Session(engine) as session:
                members.remember_address(session, emma, "slack", channel_id="D0EMMA002")
                session.commit()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    # Positive signal: the second transaction is waiting for the first one's row lock.
    deadline = time.monotonic() + 20
    with engine.connect() as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                text("SELECT count(*) FROM pg_locks WHERE NOT granted")
            ).scalar_one()
            if waiting or not thread.is_alive():
                break
            time.sleep(0.02)
    first.commit()
    first.close()
    thread.join(timeout=20)
    assert errors == []
    with Session(engine) as session:
        addresses = session.exec(select(Address).where(Address.member_id == emma)).all()
    assert [(a.platform, a.channel_id) for a in addresses] == [("slack", "D0EMMA002")]

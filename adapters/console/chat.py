"""One person's console conversation, for `relais console` and for tests."""

from __future__ import annotations

import asyncio
import threading
import uuid
from dataclasses import dataclass

from sqlmodel import select

from adapters.console import NAME, ConsolePlatform
from adapters.console.render import Rendered, render
from bot.db import session_scope
from bot.delivery.models import SENT, Delivery
from bot.delivery.worker import DeliveryWorker
from bot.events import ActionEvent, MessageEvent, Who
from bot.i18n import Tr, cli_language
from bot.members import service as members
from bot.members.models import Address
from bot.messages import Message
from bot.runtime import Runtime, StartupError


@dataclass
class Shown:
    delivery_id: int
    rendered: Rendered


class ConsoleChat:
    """Types and clicks as a member; reads what the bot sent them on the console."""

    def __init__(self, runtime: Runtime, email: str) -> None:
        self.runtime = runtime
        self.relais = runtime.relais
        with session_scope(runtime.engine) as session:
            member = members.by_email(session, email)
            if member is None:
                raise StartupError(
                    Tr(cli_language())(  # the operator at the terminal, not a member
                        "No member has the e-mail {email}. Import members first: relais members import FILE.csv",
                        email=email,
                    )
                )
            self.member_id = member.id or 0
            self.email = member.email
            self.name = member.name
            address = session.exec(
                select(Address).where(Address.member_id == self.member_id, Address.platform == NAME)
            ).first()
            self.seen_up_to = int((address.reference or {}).get("seen_up_to", 0)) if address else 0
        self.worker = DeliveryWorker(
            runtime.engine,
            {NAME: ConsolePlatform()},
            runtime.config.delivery,
            worker_id=f"console-{uuid.uuid4().hex[:8]}",
        )
        self.buttons: list = []
        # The prompt and the background inbox poller share the 'seen' mark.
        self._lock = threading.RLock()
        self.direct: list[Rendered] = []

    @property
    def who(self) -> Who:
        return Who(platform=NAME, email=self.email, name=self.name)

    def type(self, text: str) -> list[Shown]:
        """What the person typed: a button number, a command or a free message."""
        with self._lock:
            return self._type(text)

    def _type(self, text: str) -> list[Shown]:
        stripped = text.strip()
        if stripped.isdigit() and self.buttons:
            index = int(stripped) - 1
            if 0 <= index < len(self.buttons):
                return self.press(index + 1)
        return self._handle(MessageEvent(self.who, uuid.uuid4().hex, text=stripped))

    def press(self, number: int) -> list[Shown]:
        """Click button ``number`` of the last message that had buttons."""
        button = self.buttons[number - 1]
        return self._handle(
            ActionEvent(self.who, uuid.uuid4().hex, action_id=button.action_id, value=button.value)
        )

    def _handle(self, event) -> list[Shown]:  # type: ignore[no-untyped-def]
        outcome = self.relais.handle(event)
        shown = [Shown(0, render(message)) for message in outcome.direct]
        return shown + self.inbox()

    def inbox(self) -> list[Shown]:
        """Deliver what is due for this member on the console, and return what is new."""
        with self._lock:
            asyncio.run(self.worker.drain(self.member_id))
            return self.new_messages()

    def new_messages(self) -> list[Shown]:
        with session_scope(self.runtime.engine) as session:
            rows = session.exec(
                select(Delivery)
                .where(
                    Delivery.member_id == self.member_id,
                    Delivery.platform == NAME,
                    Delivery.status == SENT,
                    Delivery.id > self.seen_up_to,
                )  # type: ignore[operator]
                .order_by(Delivery.sent_at, Delivery.id)  # type: ignore[arg-type]
            ).all()
            shown = [Shown(row.id or 0, render(Message.from_payload(row.payload))) for row in rows]
            if rows:
                self.seen_up_to = max(row.id or 0 for row in rows)
                members.remember_address(
                    session, self.member_id, NAME, reference={"seen_up_to": self.seen_up_to}
                )
        for item in shown:
            if item.rendered.buttons:
                self.buttons = item.rendered.buttons
        return shown

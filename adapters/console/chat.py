"""One person's console conversation, for `relais console` and for tests."""

from __future__ import annotations

import asyncio
import threading
import uuid
from dataclasses import dataclass

from sqlalchemy import and_, or_
from sqlmodel import select

from adapters.console import NAME, ConsolePlatform
from adapters.console.forms import CANCEL, FormFill
from adapters.console.render import FORM_FILL, Rendered, render
from bot.db import session_scope
from bot.delivery.models import DELETE, SENT, UPDATE, Delivery
from bot.delivery.outbox import message_of
from bot.delivery.worker import DeliveryWorker
from bot.events import ActionEvent, MessageEvent, Who
from bot.i18n import Tr, cli_language
from bot.members import service as members
from bot.members.models import Address, Member
from bot.messages import Button, Form, Message, clip
from bot.runtime import Runtime, StartupError


@dataclass
class Shown:
    delivery_id: int
    rendered: Rendered


class ConsoleChat:
    """Types and clicks as a member; reads what the bot sent them on the console.

    Buttons are numbered continuously across the conversation: each new button
    takes the next number and no number is ever reused, so typing a number
    presses the button shown next to it, even if other messages came since.
    """

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
        self.buttons: dict[int, Button] = {}  # every button shown so far, by its number
        self.forms: dict[int, Form] = {}  # forms shown so far, by their button's number
        self.filling: FormFill | None = None  # a form being filled in, prompt by prompt
        self.next_number = 1
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
        if self.filling is not None:
            return self._fill(text)
        stripped = text.strip()
        if stripped.isdigit():
            number = int(stripped)
            if number in self.buttons:
                return self.press(number)
            return [Shown(0, Rendered(lines=[self._no_such_button(number)]))]
        return self._handle(MessageEvent(self.who, uuid.uuid4().hex, text=stripped))

    def _tr(self) -> Tr:
        with session_scope(self.runtime.engine) as session:
            member = members.by_email(session, self.email)
            return Tr(member.language if member else self.runtime.config.languages.default)

    def _fill(self, text: str) -> list[Shown]:
        """One line typed while a form is filled in; the last answer submits it."""
        filling = self.filling
        assert filling is not None
        if text.strip().lower() in CANCEL and not filling.lines:
            self.filling = None
            return [Shown(0, Rendered(lines=[filling.tr("Form cancelled: nothing was sent.")]))]
        lines = filling.answer(text)
        if not filling.done:
            return [Shown(0, Rendered(lines=lines))] if lines else []
        self.filling = None
        form = filling.form
        return self._handle(
            ActionEvent(
                self.who,
                uuid.uuid4().hex,
                action_id=form.action_id,
                value=form.value,
                fields=dict(filling.answers),
            )
        )

    def _no_such_button(self, number: int) -> str:
        tr = self._tr()
        if not self.buttons:
            return tr("There is no button to press yet: type “help” to see what you can do.")
        return tr(
            "No button has the number {number}: type the number shown in brackets, "
            "from 1 to {last}.",
            number=number,
            last=self.next_number - 1,
        )

    def button(self, number: int) -> Button | None:
        """The button shown as [number] in this conversation, if any."""
        return self.buttons.get(number)

    def number_of(self, action_id: str, value: str | None = None) -> int:
        """The number of the latest button shown with this action (and value); KeyError if none."""
        for number in sorted(self.buttons, reverse=True):
            button = self.buttons[number]
            if button.action_id == action_id and (value is None or button.value == value):
                return number
        raise KeyError(f"no button {action_id}={value} was shown")

    def press(self, number: int) -> list[Shown]:
        """Click the button shown as [number] (numbers run on across the conversation)."""
        with self._lock:
            button = self.buttons[number]
            if button.action_id == FORM_FILL:
                self.filling = FormFill(self.forms[number], self._tr())
                return [Shown(0, Rendered(lines=self.filling.start()))]
            return self._handle(
                ActionEvent(
                    self.who, uuid.uuid4().hex, action_id=button.action_id, value=button.value
                )
            )

    def _handle(self, event) -> list[Shown]:  # type: ignore[no-untyped-def]
        outcome = self.relais.handle(event)
        shown = [Shown(0, self._render(message)) for message in outcome.direct]
        return shown + self.inbox()

    def _render(self, message: Message) -> Rendered:
        """Render with the next free button numbers, and remember them."""
        with self._lock:
            rendered = render(message, first=self.next_number)
            self.buttons.update(rendered.numbered)
            self.forms.update(rendered.forms)
            self.next_number += len(rendered.buttons)
            return rendered

    def inbox(self) -> list[Shown]:
        """Deliver what is due for this member on the console, and return what is new."""
        with self._lock:
            asyncio.run(self.worker.drain(self.member_id))
            return self.new_messages()

    def new_messages(self) -> list[Shown]:
        """What the member has not seen yet; updates and deletes say what they change.

        A message deleted before the member saw it is not shown at all.
        """
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
            targets = {row.target_id for row in rows if row.target_id}
            # Each changed message and its sent updates: a change names its latest version.
            versions: dict[int, list[Delivery]] = {}
            for version in session.exec(
                select(Delivery)
                .where(
                    or_(
                        Delivery.id.in_(targets),  # type: ignore[union-attr]
                        and_(
                            Delivery.target_id.in_(targets),  # type: ignore[union-attr]
                            Delivery.operation == UPDATE,
                            Delivery.status == SENT,
                        ),
                    )
                )
                .order_by(Delivery.id)  # type: ignore[arg-type]
            ).all():
                versions.setdefault(version.target_id or version.id or 0, []).append(version)
            unseen = {row.id for row in rows}
            deleted_unseen = {
                row.target_id for row in rows if row.operation == DELETE and row.target_id in unseen
            }
            member = session.get(Member, self.member_id)
            tr = Tr(member.language if member else self.runtime.config.languages.default)
            shown = []
            for row in rows:
                if row.id in deleted_unseen or (
                    row.operation == DELETE and row.target_id in unseen
                ):
                    continue  # sent and withdrawn while the member was away
                before = [
                    v for v in versions.get(row.target_id or 0, []) if (v.id or 0) < (row.id or 0)
                ]
                what = _headline(message_of(before[-1], session)) if before else ""
                if row.operation == DELETE:
                    line = tr("(deleted) “{message}” was withdrawn.", message=what)
                    shown.append(Shown(row.id or 0, Rendered(lines=[line])))
                    continue
                rendered = self._render(message_of(row, session))
                if row.operation == UPDATE:
                    rendered.lines.insert(0, tr("(updated) “{message}” now reads:", message=what))
                shown.append(Shown(row.id or 0, rendered))
            if rows:
                self.seen_up_to = max(row.id or 0 for row in rows)
                members.remember_address(
                    session, self.member_id, NAME, reference={"seen_up_to": self.seen_up_to}
                )
        return shown


def _headline(message: Message, width: int = 60) -> str:
    """A message's first words, to name it in "(updated)" and "(deleted)"."""
    text = " ".join(message.text.split())
    return clip(text, width, trim=True)

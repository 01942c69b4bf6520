"""The console platform: a member chats with Relais from a terminal.

Sending to the console means leaving the message in the member's console
mailbox, which is the delivery row itself once marked sent; ``relais console
--as EMAIL`` shows the rows it has not shown yet and turns what the person
types into the core's events.
"""

from __future__ import annotations

from bot.config import AppConfig
from bot.core import Relais
from bot.messages import Message
from bot.platforms import Attempt, Part, Platform, Recipient, SendResult

NAME = "console"


class ConsolePlatform(Platform):
    """The mailbox is the outbox: a delivery marked sent is a message in the member's console.

    An update or a delete is a delivery of its own, shown in the mailbox as
    "(updated)" with the new message, or "(deleted)": a terminal cannot change
    what it already printed.
    """

    name = NAME

    async def send(self, recipient: Recipient, message: Message, attempt: Attempt) -> SendResult:
        channel = f"console:{recipient.email}"
        message_id = f"console:{attempt.delivery_id}"
        return SendResult.sent(message_id, channel_id=channel, parts=[Part(message_id, channel)])

    async def update(self, recipient: Recipient, message: Message, attempt: Attempt) -> SendResult:
        return await self.send(recipient, message, attempt)

    async def delete(self, recipient: Recipient, attempt: Attempt) -> SendResult:
        return SendResult.sent(None)


def create(relais: Relais, config: AppConfig) -> ConsolePlatform:
    return ConsolePlatform()

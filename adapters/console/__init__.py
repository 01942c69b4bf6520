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
    name = NAME

    async def send(self, recipient: Recipient, message: Message, attempt: Attempt) -> SendResult:
        # One part, kept like any platform's, so a later update or delete finds the message.
        message_id, channel = f"console:{attempt.delivery_id}", f"console:{recipient.email}"
        return SendResult.sent(message_id, channel_id=channel, parts=[Part(message_id, channel)])

    async def update(self, recipient: Recipient, message: Message, attempt: Attempt) -> SendResult:
        """The console shows the update as a new message (a terminal cannot edit what it printed)."""
        return await self.send(recipient, message, attempt)

    async def delete(self, recipient: Recipient, attempt: Attempt) -> SendResult:
        return SendResult.sent(None)


def create(relais: Relais, config: AppConfig) -> ConsolePlatform:
    return ConsolePlatform()

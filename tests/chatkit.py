"""A client talking to the Conversation service directly (no Telegram), for fast tests."""

from __future__ import annotations

from bot.conversation import Conversation
from bot.messages import ClientKey, Inbound, Response


class ChatClient:
    def __init__(self, conversation: Conversation, user_id: int = 1001,
                 language: str = "en") -> None:
        self.conversation = conversation
        self.key = ClientKey(telegram_user_id=user_id, chat_id=user_id)
        self.language = language
        self.last: Response = Response()
        self.buttons: tuple[tuple[str, str], ...] = ()

    async def send(self, text: str) -> Response:
        words = text[1:].split() if text.startswith("/") else []
        command = words[0].lower() if words else None
        return await self._handle(Inbound(client=self.key, text=text, command=command,
                                          language=self.language, args=tuple(words[1:])))

    async def press(self, label: str) -> Response:
        data = dict(self.buttons).get(label)
        assert data is not None, f"no button {label!r}; have {[b for b, _ in self.buttons]}"
        return await self.press_data(data)

    async def press_data(self, data: str) -> Response:
        return await self._handle(Inbound(client=self.key, button=data, language=self.language))

    async def sticker(self, caption: str | None = None) -> Response:
        return await self._handle(Inbound(client=self.key, text=caption, has_media=True,
                                          language=self.language))

    async def edit(self, text: str) -> Response:
        return await self._handle(Inbound(client=self.key, text=text, edited=True,
                                          language=self.language))

    async def _handle(self, inbound: Inbound) -> Response:
        self.last = await self.conversation.handle(inbound)
        for message in self.last.messages:
            if message.buttons:
                self.buttons = message.buttons
        return self.last

    @property
    def texts(self) -> list[str]:
        return [m.text for m in self.last.messages]

    @property
    def said(self) -> str:
        return "\n".join(self.texts)

    async def consent(self) -> None:
        await self.send("/start")
        assert "c:y" in {data for _, data in self.buttons}  # the "yes" button, in any language
        await self.press_data("c:y")


async def complete_thought_record(client: ChatClient, situation: str = "Missed the bus.") -> None:
    await client.send("/thought")
    await client.send(situation)
    await client.press("Anxious")
    await client.press("70")
    await client.press("No, that's all")
    await client.send("I'll be late and get fired.")
    await client.press("No, that's all")
    await client.press("Fortune telling")
    await client.press("Done")
    await client.send("I was late once before.")
    await client.send("My manager said being late once is fine.")
    await client.send("I might be late and one late morning won't cost my job.")
    await client.press("80")
    await client.press("30")

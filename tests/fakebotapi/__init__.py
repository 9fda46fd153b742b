"""Fake Telegram Bot API server and fake users for offline end-to-end tests.

async with FakeBotApi() as api:
    app = Application.builder().token("123:TEST").base_url(api.base_url).build()
    alice = api.user(1001, first_name="Alice")
    await alice.send("/start")
    reply = await alice.next_reply()
"""

from tests.fakebotapi.models import ApiCall, CallbackAnswer, ChatState, Reply, UploadedFile
from tests.fakebotapi.server import ApiError, FakeBotApi
from tests.fakebotapi.user import FakeUser

__all__ = [
    "ApiCall",
    "ApiError",
    "CallbackAnswer",
    "ChatState",
    "FakeBotApi",
    "FakeUser",
    "Reply",
    "UploadedFile",
]

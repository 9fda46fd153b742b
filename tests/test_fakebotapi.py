"""Tests for the fake Bot API server and its fake users, driven by real PTB 22 objects."""

from __future__ import annotations

import asyncio
import datetime as dtm
import sys
from collections.abc import AsyncIterator

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakebotapi import FakeBotApi

TOKEN = "123:TEST"


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=api.base_url, base_file_url=api.base_file_url) as real_bot:
        yield real_bot


@pytest.fixture
async def http(api: FakeBotApi) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api.port}") as client:
        yield client


# ----- a real PTB Application, end to end -------------------------------------------------


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    keyboard = [[InlineKeyboardButton("Yes", callback_data="mood:yes")]]
    keyboard.append([InlineKeyboardButton("No", callback_data="mood:no")])
    await update.effective_message.reply_text(
        "Did you do your <b>thought record</b>?",
        parse_mode="HTML",
        reply_markup=InlineKeyboardMarkup(keyboard),
    )


async def on_click(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer("Noted")
    await query.edit_message_text(f"You answered {query.data.split(':')[1]}")


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None and update.effective_message.text is not None
    for n in range(3):
        await update.effective_message.reply_text(f"{update.effective_message.text} #{n}")


async def test_ptb_application_conversation(api: FakeBotApi) -> None:
    application = (
        Application.builder()
        .token(TOKEN)
        .base_url(api.base_url)
        .base_file_url(api.base_file_url)
        .build()
    )
    application.add_handler(CommandHandler("start", on_start))
    application.add_handler(CallbackQueryHandler(on_click))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    await application.initialize()
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=1))
    try:
        alice = api.user(1001, first_name="Alice", language_code="en")
        await alice.send("/start")
        question = await alice.next_reply(timeout=10)
        assert question.kind == "message"
        assert question.text == "Did you do your thought record?"
        assert question.raw_text == "Did you do your <b>thought record</b>?"
        assert question.buttons == [["Yes"], ["No"]]

        await alice.click("Yes")
        edited = await alice.next_reply(timeout=10)
        assert (edited.kind, edited.message_id) == ("edit", question.message_id)
        assert edited.text == "You answered yes"
        assert edited.buttons == []  # editMessageText without reply_markup drops the keyboard
        answer = await alice.callback_answer()
        assert (answer.text, answer.data) == ("Noted", "mood:yes")

        await alice.send("hello")
        echoes = await alice.replies_until_quiet(quiet=0.3)
        assert [r.text for r in echoes] == ["hello #0", "hello #1", "hello #2"]
        assert [r.kind for r in alice.transcript] == ["message", "edit"] + ["message"] * 3
        assert api.messages(1001)[0].text == "You answered yes"
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
    assert TOKEN in api.tokens
    assert api.calls("getMe") and api.calls("GETUPDATES")
    sends = api.calls("sendMessage")
    assert sends[0].params["chat_id"] == 1001
    assert sends[0].params["reply_markup"]["inline_keyboard"][0][0]["text"] == "Yes"


ECHO_BOT = """
import sys
from telegram.ext import Application, MessageHandler, filters

async def echo(update, context):
    await update.effective_message.reply_text("echo: " + update.effective_message.text)

app = Application.builder().token("123:TEST").base_url(sys.argv[1]).build()
app.add_handler(MessageHandler(filters.TEXT, echo))
app.run_polling(poll_interval=0, timeout=1)
"""


async def test_bot_running_as_a_subprocess(api: FakeBotApi) -> None:
    bot_process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", ECHO_BOT, api.base_url, stderr=asyncio.subprocess.PIPE
    )
    try:
        frank = api.user(7007, first_name="Frank")
        await frank.send("hello")
        assert (await frank.next_reply(timeout=30)).text == "echo: hello"
    finally:
        bot_process.terminate()  # run_polling stops gracefully on SIGTERM
        _, stderr = await bot_process.communicate()
    assert bot_process.returncode == 0, stderr.decode()


# ----- getUpdates ---------------------------------------------------------------------------


async def test_long_poll_returns_promptly_when_an_update_arrives(
    api: FakeBotApi, http: httpx.AsyncClient
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(http.post(f"/bot{TOKEN}/getUpdates", data={"timeout": "10"}))
    await asyncio.sleep(0.3)
    assert not poll.done()  # really waiting
    await api.user(7).send("hi")
    response = await poll
    assert 0.3 <= loop.time() - started < 2
    updates = response.json()["result"]
    assert [u["message"]["text"] for u in updates] == ["hi"]


async def test_long_poll_times_out_with_no_updates(api: FakeBotApi, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await bot.get_updates(timeout=dtm.timedelta(seconds=1)) == ()
    assert 0.9 <= loop.time() - started < 3


async def test_offset_confirms_updates(api: FakeBotApi, bot: Bot) -> None:
    bob = api.user(2002)
    for text in ("one", "two", "three"):
        await bob.send(text)
    first = await bot.get_updates(timeout=0)
    assert [u.message.text for u in first if u.message] == ["one", "two", "three"]
    assert [u.update_id for u in first] == sorted(u.update_id for u in first)
    again = await bot.get_updates(offset=first[1].update_id, limit=1)
    assert [u.message.text for u in again if u.message] == ["two"]  # "one" confirmed
    assert await bot.get_updates(offset=first[2].update_id + 1, timeout=0) == ()
    assert api.pending_updates == []


# ----- errors -------------------------------------------------------------------------------


async def test_blocked_chat_raises_forbidden(api: FakeBotApi, bot: Bot) -> None:
    api.block(1001)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(1001, "Time for your check-in")
    assert api.calls("sendMessage")[-1].error_code == 403
    api.unblock(1001)
    await bot.send_message(1001, "Time for your check-in")
    assert [r.text for r in api.user(1001).transcript] == ["Time for your check-in"]


async def test_fail_next_injects_one_429(
    api: FakeBotApi, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # RetryAfter.retry_after as timedelta
    api.fail_next("sendMessage", error_code=429, retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(5, "first")
    assert caught.value.retry_after == dtm.timedelta(seconds=3)
    await bot.send_message(5, "second")  # only one failure was injected
    assert [c.error_code for c in api.calls("sendmessage")] == [429, None]


async def test_invalid_token_is_rejected(api: FakeBotApi) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("invalid", base_url=api.base_url):
            pass
    assert "invalid" in api.tokens


async def test_edit_errors_match_telegram(api: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_message(9, "same")
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("same", chat_id=9, message_id=sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=9, message_id=999)
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(9, "a <br> b", parse_mode="HTML")
    assert await bot.delete_message(9, sent.message_id)
    assert api.messages(9) == [] and api.chat(9).deleted == [sent.message_id]


# ----- files --------------------------------------------------------------------------------


async def test_send_document_and_photo_capture_the_upload(api: FakeBotApi, bot: Bot) -> None:
    carol = api.user(3003, first_name="Carol")
    message = await bot.send_document(
        3003, document=b"date,mood\n", filename="diary.csv", caption="Your export"
    )
    assert message.document is not None and message.document.file_name == "diary.csv"
    reply = await carol.next_reply()
    assert reply.kind == "document" and reply.text == "Your export"
    assert reply.document is not None
    assert (reply.document.filename, reply.document.content) == ("diary.csv", b"date,mood\n")

    await bot.send_photo(3003, photo=b"\x89PNG fake", filename="chart.png")
    photo = await carol.next_reply()
    assert photo.kind == "photo" and photo.photo is not None
    assert photo.photo.content == b"\x89PNG fake"

    file = await bot.get_file(message.document.file_id)
    assert await file.download_as_bytearray() == bytearray(b"date,mood\n")


# ----- the user side ------------------------------------------------------------------------


async def test_user_updates_are_valid_ptb_updates(api: FakeBotApi, bot: Bot) -> None:
    dave = api.user(4004, first_name="Dave", username="dave")
    await bot.send_message(
        4004,
        "pick",
        reply_markup=InlineKeyboardMarkup.from_button(
            InlineKeyboardButton("Go", callback_data="go")
        ),
    )
    first_id = await dave.send("/start now")
    await dave.send_sticker()
    await dave.send_photo(caption="my worksheet")
    await dave.send_voice()
    await dave.edit(first_id, "/start later")
    await dave.click("Go")
    await dave.click_data("forged:data", message_id=777)
    updates = await bot.get_updates(timeout=0)

    start, sticker, photo, voice, edited, click, forged = updates
    assert start.message and start.message.text == "/start now"
    assert start.message.entities[0].type == "bot_command"
    assert start.message.message_id == 2  # the bot's "pick" was message 1 in this chat
    assert start.effective_user and start.effective_user.username == "dave"
    assert sticker.message and sticker.message.sticker
    assert photo.message and photo.message.photo and photo.message.caption == "my worksheet"
    assert voice.message and voice.message.voice
    assert edited.edited_message and edited.edited_message.text == "/start later"
    assert click.callback_query and click.callback_query.data == "go"
    assert click.callback_query.message and click.callback_query.message.message_id == 1
    assert forged.callback_query and forged.callback_query.data == "forged:data"
    assert forged.callback_query.message and not forged.callback_query.message.is_accessible

    file = await bot.get_file(photo.message.photo[-1].file_id)
    assert await file.download_as_bytearray() == bytearray(b"fake-jpeg")

    assert click.callback_query.id and await bot.answer_callback_query(
        click.callback_query.id, text="That button has expired"
    )
    answers = await dave.answered_callbacks(timeout=0.2)
    assert [(a.data, a.text) for a in answers] == [("go", "That button has expired")]
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(click.callback_query.id)


async def test_click_on_a_missing_label_lists_the_buttons(api: FakeBotApi, bot: Bot) -> None:
    erin = api.user(5005)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Calm", callback_data="c")]])
    await bot.send_message(5005, "How do you feel?", reply_markup=keyboard)
    with pytest.raises(AssertionError, match=r"no button 'Angry'.*\[\['Calm'\]\]"):
        await erin.click("Angry")
    with pytest.raises(AssertionError, match="got no new reply"):
        await erin.next_reply(timeout=0.01) and await erin.next_reply(timeout=0.1)


async def test_many_users_have_separate_queues(api: FakeBotApi, bot: Bot) -> None:
    users = [api.user(6000 + n) for n in range(20)]

    async def chat(user_id: int) -> None:
        for n in range(3):
            await bot.send_message(user_id, f"{user_id}-{n}")

    await asyncio.gather(*(chat(user.id) for user in users))
    for user in users:
        replies = await user.replies_until_quiet(quiet=0.05)
        assert [r.text for r in replies] == [f"{user.id}-{n}" for n in range(3)]
    await users[0].assert_no_reply(within=0.05)


async def test_http_details(api: FakeBotApi, http: httpx.AsyncClient) -> None:
    # JSON bodies and any-case method names; unknown methods just succeed.
    response = await http.post(f"/bot{TOKEN}/SENDMESSAGE", json={"chat_id": 8, "text": "hey"})
    assert response.json()["result"]["from"]["id"] == 123
    response = await http.get(f"/bot{TOKEN}/sendChatAction?chat_id=8&action=typing")
    assert response.json() == {"ok": True, "result": True}
    commands = '[{"command": "start", "description": "Begin"}]'
    await http.post(f"/bot{TOKEN}/setMyCommands", data={"commands": commands})
    response = await http.post(f"/bot{TOKEN}/getMyCommands")
    assert response.json()["result"] == [{"command": "start", "description": "Begin"}]
    # Another process can play a user over HTTP.
    response = await http.post("/_test/users/8/next_reply", json={"timeout": 1})
    assert response.json()["result"]["text"] == "hey"
    await http.post("/_test/users/8/send", json={"text": "/start"})
    assert api.pending_updates[-1]["message"]["text"] == "/start"

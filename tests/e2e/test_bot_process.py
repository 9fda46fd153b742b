"""End to end: the real bot process, real HTTP to a fake Bot API, a real database.

A client completes /start and a thought record by typing and pressing buttons; the bot is
killed in the middle of a second record and restarted, and the client finishes it; the
export then holds both records.
"""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.botprocess import CLI, BotProcess, bot_environment, expect, expect_button
from tests.fakebotapi import FakeBotApi, FakeUser

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_choice(request: pytest.FixtureRequest) -> str | None:
    """None: the embedded default (a SQLite file the bot creates); else a PostgreSQL URL."""
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("empty_postgres_url"))


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


async def fill_until_belief(alice: FakeUser, situation: str) -> None:
    await alice.send("/thought")
    await expect(alice, "What was the situation?")
    await alice.send(situation)
    await expect(alice, "What mood did you feel?")
    await alice.click("Anxious")
    await expect(alice, "How strong was 'Anxious'")
    await alice.click("80")
    await expect(alice, "any other mood")
    await alice.click("Add another mood")
    await expect(alice, "What mood did you feel?")
    await alice.send("Embarrassed")
    await expect(alice, "How strong was 'Embarrassed'")
    await alice.send("65")
    await expect(alice, "any other mood")
    await alice.click("No, that's all")
    await expect(alice, "What went through your mind")
    await alice.send("Everyone noticed my mistake.")
    await expect(alice, "another thought")
    await alice.click("Add another thought")
    await expect(alice, "What went through your mind")
    await alice.send("I'm not good enough for this job.")
    await expect(alice, "another thought")
    await alice.click("No, that's all")
    await expect(alice, "hot thought")
    await alice.click("I'm not good enough for this job.")
    await expect(alice, "thinking traps")
    await alice.click("Labelling")
    await expect_button(alice, "✓ Labelling")  # the same message, edited in place
    await alice.click("Done")
    await expect(alice, "What facts support")
    await alice.send("I made an error in the report.")
    await expect(alice, "don't fit")
    await alice.send("My manager said the rest of the report was excellent.")
    await expect(alice, "more balanced")
    await alice.send("I made one error and I am good at most of my job.")
    await expect(alice, "How much do you believe")


async def finish_rerating(alice: FakeUser) -> str:
    await alice.click("70")
    await expect(alice, "how strong is 'Anxious'")
    await alice.click("30")
    await expect(alice, "how strong is 'Embarrassed'")
    await alice.send("25")
    summary = await expect(alice, "How your moods changed")
    assert summary.text is not None
    return summary.text


async def test_thought_record_survives_a_killed_bot_and_exports(
    api: FakeBotApi, tmp_path: Path, database_choice: str | None
) -> None:
    env = bot_environment(api, tmp_path / "data", database_choice)
    bot = BotProcess(env, tmp_path / "bot.log")
    await bot.start()
    try:
        alice = api.user(7001, first_name="Alice", language_code="en")
        await alice.send("/start")
        welcome = await expect(alice, "not monitored")
        assert "not an emergency service" in (welcome.text or "")
        consent = await expect(alice, "May I store")
        assert consent.buttons == [["Yes, store my entries"], ["No, don't store anything"]]
        await alice.click("Yes, store my entries")
        await expect(alice, "Thank you")
        await alice.send_sticker()
        await expect(alice, "Send /thought")

        await fill_until_belief(alice, "I presented the quarterly report.")
        summary = await finish_rerating(alice)
        assert "Anxious: 80 → 30 (-50)" in summary
        assert "Embarrassed: 65 → 25 (-40)" in summary

        # Second record: the bot dies half-way through and comes back.
        await alice.send("/thought")
        await expect(alice, "What was the situation?")
        await alice.send("A colleague didn't say hello this morning.")
        await expect(alice, "What mood did you feel?")
        await alice.click("Sad")
        await expect(alice, "How strong was 'Sad'")
        await bot.kill()
        await alice.click("40")  # pressed while the bot is down: delivered after the restart
        await bot.start()
        await expect(alice, "any other mood")
        await alice.click("No, that's all")
        await expect(alice, "What went through your mind")
        await bot.kill()
        await bot.start()
        await alice.send("/thought")
        await expect(alice, "carry on where you left off")
        await expect(alice, "What went through your mind")
        await alice.send("She's upset with me.")
        await expect(alice, "another thought")
        await alice.click("No, that's all")
        await expect(alice, "thinking traps")
        await alice.click("Skip")
        await expect(alice, "What facts support")
        await alice.send("She walked past quickly.")
        await expect(alice, "don't fit")
        await alice.send("She had headphones on and was late for a meeting.")
        await expect(alice, "more balanced")
        await alice.send("She walked past quickly and she was probably busy.")
        await expect(alice, "How much do you believe")
        await alice.click("80")
        await expect(alice, "how strong is 'Sad'")
        await alice.click("10")
        final = await expect(alice, "How your moods changed")
        assert "Sad: 40 → 10 (-30)" in (final.text or "")
    except BaseException:
        print(bot.log())
        raise
    finally:
        assert await bot.stop() in (0, None, -2), bot.log()

    assert "Traceback" not in bot.log(), bot.log()
    for secret in ("123456:TEST-TOKEN", "quarterly report", "colleague"):
        assert secret not in bot.log()  # neither the token nor a client's words

    export = await asyncio.to_thread(
        subprocess.run, [str(CLI), "export", "--client", "7001", "--format", "csv",
                         "--type", "thought_record"],
        env=env, capture_output=True, text=True, timeout=60, check=False)
    assert export.returncode == 0, export.stderr
    rows = list(csv.DictReader(io.StringIO(export.stdout)))
    assert [r["situation"] for r in rows] == ["I presented the quarterly report.",
                                              "A colleague didn't say hello this morning."]
    assert rows[0]["moods_before"] == "Anxious:80|Embarrassed:65"
    assert rows[0]["moods_after"] == "Anxious:30|Embarrassed:25"
    assert rows[1]["moods_before"] == "Sad:40" and rows[1]["moods_after"] == "Sad:10"
    assert rows[0]["hot_thought"] == "I'm not good enough for this job."
    assert rows[1]["hot_thought"] == "She's upset with me."
    assert rows[0]["belief_0_100"] == "70" and rows[0]["flow_version"] == "1"
    assert rows[0]["completed_at"].endswith("+00:00")


async def test_spanish_client_crisis_mid_record(api: FakeBotApi, tmp_path: Path) -> None:
    """In Spanish, end to end: the right country's lines in one reply, the flow paused and
    resumed, and the client's words nowhere in the bot's log."""
    bot = BotProcess(bot_environment(api, tmp_path / "data", None), tmp_path / "bot.log")
    await bot.start()
    try:
        lucia = api.user(7101, first_name="Lucía", language_code="es-MX")
        await lucia.send("/start")
        await expect(lucia, "no está supervisado")
        await expect(lucia, "¿Puedo guardar")
        await lucia.click("Sí, guarda mis registros")
        await expect(lucia, "¿En qué país estás?")
        await lucia.click("México")
        await expect(lucia, "líneas de crisis de México")
        await lucia.send("/thought")
        await expect(lucia, "¿Cuál fue la situación?")
        await lucia.send("Discutí con mi madre por teléfono.")
        await expect(lucia, "¿Qué emoción sentiste?")
        await lucia.send("ya no quiero seguir viviendo")
        await expect(lucia, "he pausado el ejercicio")
        lines = await expect(lucia, "Líneas de crisis en México:")
        assert "800 911 2000" in (lines.text or "") and "911" in (lines.text or "")
        assert lines.buttons[0] == ["Mi plan de seguridad"] or "Mi plan de seguridad" in str(
            lines.buttons)
        await lucia.click("Ahora estoy a salvo")
        await expect(lucia, "Me alegra")
        await lucia.send("/thought")
        await expect(lucia, "Sigamos donde lo dejaste")
        await expect(lucia, "¿Qué emoción sentiste?")
        await lucia.click("Tristeza")
        await expect(lucia, "¿Con qué intensidad sentiste 'Tristeza'")
    except BaseException:
        print(bot.log())
        raise
    finally:
        await bot.stop()
    log = bot.log()
    assert "Traceback" not in log
    for words in ("madre", "viviendo", "Tristeza"):
        assert words not in log
    assert "crisis response for chat=7101: category=" in log


async def test_paced_exercise_edits_one_message_and_can_be_stopped(
    api: FakeBotApi, tmp_path: Path
) -> None:
    env = bot_environment(api, tmp_path / "data", None)
    env["CBT_EXERCISE_SPEED"] = "0.02"  # 4-second phases take 80 ms
    bot = BotProcess(env, tmp_path / "bot.log")
    await bot.start()
    try:
        sam = api.user(7201, first_name="Sam", language_code="en")
        await sam.send("/start")
        await expect(sam, "May I store")
        await sam.click("Yes, store my entries")
        await expect(sam, "Which country")
        await sam.send("/relax")
        await expect(sam, "Which exercise")
        await sam.click("Box breathing (1½ min)")
        await expect(sam, "how distressed or tense")
        await sam.click("7")
        await expect(sam, "Follow the message below")
        pacing = await expect(sam, "▶ Breathe in")
        assert pacing.buttons == [["Pause", "Stop"]]
        summary = await expect(sam, "And now: how distressed", timeout=30)
        edits = [r for r in sam.transcript if r.kind == "edit"
                 and r.message_id == pacing.message_id]
        assert len(edits) == 6 * 4  # one edit per phase after the first, plus the ending
        assert edits[-1].text is not None and edits[-1].text.startswith("✓")
        assert summary.buttons
        await sam.click("3")
        await expect(sam, "Distress before: 7/10, after: 3/10")

        # A long exercise, stopped part-way: stored as stopped.
        await sam.send("/relax")
        await expect(sam, "Which exercise")
        await sam.click("Muscle relaxation, full (10 min)")
        await expect(sam, "how distressed or tense")
        await sam.click("8")
        running = await expect(sam, "▶ 1/16 Tense")
        await sam.send("can I stop?")  # typed during the exercise: not taken as an answer
        await expect(sam, "The exercise is running")
        await sam.click("Pause", message_id=running.message_id)
        await sam.click("Stop", message_id=running.message_id)
        await expect(sam, "And now: how distressed")
        await sam.click("6")
        await expect(sam, "Distress before: 8/10, after: 6/10")
    except BaseException:
        print(bot.log())
        raise
    finally:
        await bot.stop()
    export = await asyncio.to_thread(
        subprocess.run, [str(CLI), "export", "--client", "7201", "--format", "json"],
        env=env, capture_output=True, text=True, timeout=60, check=False)
    assert export.returncode == 0, export.stderr
    assert '"stopped": true' in export.stdout and '"stopped": false' in export.stdout


async def test_mood_questionnaires_and_progress_end_to_end(
    api: FakeBotApi, tmp_path: Path
) -> None:
    bot = BotProcess(bot_environment(api, tmp_path / "data", None), tmp_path / "bot.log")
    await bot.start()
    try:
        kim = api.user(7301, first_name="Kim", language_code="en")
        await kim.send("/start")
        await expect(kim, "May I store")
        await kim.click("Yes, store my entries")
        await expect(kim, "Which country")
        await kim.send("/mood")
        await expect(kim, "How is your mood right now")
        await kim.click("7")
        await expect(kim, "Any words for how you feel")
        await kim.click("Calm")
        await expect_button(kim, "✓ Calm")
        await kim.click("Done")
        await expect(kim, "Anything you'd like to note")
        await kim.click("Skip")
        await expect(kim, "Saved: mood 7/10")
        for command, answers, total in (
                ("/phq9", ["Several days"] * 8 + ["Not at all", "Somewhat difficult"],
                 "total is 8 out of 27, in the mild range"),
                ("/gad7", ["More than half the days"] * 7, "total is 14 out of 21")):
            await kim.send(command)
            await expect(kim, "Over the last 2 weeks")
            for answer in answers[:-1]:
                await kim.click(answer)
                await expect(kim, "")  # the next question, before answering it
            await kim.click(answers[-1])
            await expect(kim, total, timeout=30)
        await kim.send("/progress")
        picture = None
        for _ in range(10):
            reply = await kim.next_reply(timeout=30)
            if reply.kind == "photo":
                picture = reply
                break
        assert picture is not None and picture.file is not None
        assert picture.file.content.startswith(b"\x89PNG")
        assert "PHQ-9" in (picture.text or "")
    except BaseException:
        print(bot.log())
        raise
    finally:
        await bot.stop()

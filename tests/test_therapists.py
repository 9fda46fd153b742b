"""Therapists and privacy: invites, consented links, refusals, exports, digest, audit,
private entries, crisis notices without text, erasure of everything."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.conversation import Conversation
from flows.catalog import default_catalog
from flows.registry import FlowRegistry
from storage.db import Database
from storage.models import Base, Client
from storage.therapists import TherapistRepository
from tests.chatkit import ChatClient, complete_thought_record

SECRET = "SECRET-words-4471"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def staff_invite(database: Database, name: str, now: datetime,
                       days: int = 7) -> str:
    async with database.transaction() as session:
        code, _ = await TherapistRepository(session).create_invite(
            kind="therapist", now=now, valid_for=timedelta(days=days), therapist_name=name)
    return code


async def setup_pair(database: Database, clock: Clock) -> tuple[ChatClient, ChatClient, str]:
    conversation = Conversation(database, FlowRegistry.load(), default_catalog(), clock=clock)
    therapist = ChatClient(conversation, user_id=9001)
    client = ChatClient(conversation, user_id=9002)
    code = await staff_invite(database, "Dr Rivera", clock.now)
    await therapist.send(f"/therapist {code}")
    assert "You're registered as a therapist" in therapist.said
    await therapist.send("/invite")
    link_code = therapist.said.split("Give your client this code: ")[1].split()[0]
    await client.consent()
    await client.send(f"/link {link_code}")
    assert "Dr Rivera would like to link" in client.said and "private" in client.said
    await client.press("Agree, with crisis notices")
    assert "linked with Dr Rivera" in client.said
    assert client.last.also and client.last.also[0][0] == 9001
    async with database.read() as session:
        pseudonym = (await session.execute(
            select(Client.pseudonym).where(Client.telegram_user_id == 9002))).scalar_one()
    return therapist, client, pseudonym


async def test_codes_are_single_use_expire_and_are_stored_hashed(database: Database) -> None:
    clock = Clock()
    conversation = Conversation(database, FlowRegistry.load(), default_catalog(), clock=clock)
    code = await staff_invite(database, "Dr Lee", clock.now, days=1)
    first, second = ChatClient(conversation, user_id=1), ChatClient(conversation, user_id=2)
    await first.send("/therapist WRONG-CODE1")
    assert "isn't valid" in first.said
    await first.send(f"/therapist {code.lower()}")  # case and dashes don't matter
    assert "registered as a therapist" in first.said
    await second.send(f"/therapist {code}")
    assert "already been used" in second.said
    late = await staff_invite(database, "Dr Late", clock.now, days=1)
    clock.now += timedelta(days=2)
    await second.send(f"/therapist {late}")
    assert "expired" in second.said
    async with database.read() as session:
        from storage.models import InviteCode
        hashes = (await session.execute(select(InviteCode.code_hash))).scalars().all()
    assert code not in hashes and all(len(h) == 64 for h in hashes)


async def test_link_replay_and_other_peoples_clients_are_refused(database: Database) -> None:
    clock = Clock()
    therapist, client, pseudonym = await setup_pair(database, clock)
    # Replaying the consent button (or a copy of it) cannot reuse the spent code.
    link_button = next(data for label, data in client.buttons if "with crisis" in label)
    intruder = ChatClient(client.conversation, user_id=9003)
    await intruder.consent()
    await intruder.press_data(link_button)
    assert "already been used" in intruder.said
    await intruder.press_data("lk:999:a")
    assert intruder.last.notice == "That button has expired."
    # Another therapist cannot see this client; a client cannot use therapist commands.
    other_code = await staff_invite(database, "Dr Other", clock.now)
    other = ChatClient(client.conversation, user_id=9004)
    await other.send(f"/therapist {other_code}")
    await other.send(f"/export {pseudonym} csv")
    assert "isn't one of your linked clients" in other.said
    await other.send(f"/digest {pseudonym}")
    assert "isn't one of your linked clients" in other.said
    await client.send("/clients")
    assert "Only registered therapists" in client.said
    await therapist.send("/export C-NOPE99 csv")
    assert "isn't one of your linked clients" in therapist.said


async def test_exports_digest_audit_and_private_entries(database: Database) -> None:
    clock = Clock()
    therapist, client, pseudonym = await setup_pair(database, clock)
    await complete_thought_record(client, situation="Shared situation")
    await complete_thought_record(client, situation=SECRET)
    await client.press("🔒 Keep this private")
    assert client.last.notice == "Marked private: no therapist will see it."
    await client.send("/mood")
    await client.press("6")
    await client.press("Skip")
    await client.press("Skip")
    await therapist.send(f"/export {pseudonym} json")
    [message] = therapist.last.messages
    assert message.document is not None
    name, content = message.document
    assert name.endswith(".json")
    document = json.loads(content)
    situations = [e["data"].get("situation") for e in document["entries"]]
    assert "Shared situation" in situations and SECRET not in content.decode()
    await therapist.send(f"/export {pseudonym} csv 2026-05-01 2026-05-31")
    assert therapist.last.messages[0].document is not None
    assert therapist.last.messages[0].document[0].endswith(".zip")
    await therapist.send(f"/digest {pseudonym}")
    assert f"Digest for {pseudonym}" in therapist.said and "2 done" in therapist.said
    assert "fortune telling" in therapist.said
    assert "Reminders the client set (only they can change them): -" in therapist.said
    await therapist.send("/clients")
    assert pseudonym in therapist.said
    # The client's own export holds everything, private included.
    await client.send("/export")
    files = {m.document[0].split("-")[1]: m.document[1] for m in client.last.messages
             if m.document}
    assert SECRET in files["data"].decode() and files["report"].startswith(b"%PDF")
    async with database.read() as session:
        actions = [(r.action, r.client_pseudonym) for r in
                   await TherapistRepository(session).audit_records()]
    assert ("export", pseudonym) in actions and ("digest", pseudonym) in actions
    assert ("clients", pseudonym) in actions


async def test_crisis_notice_carries_no_text_and_unlink_stops_sharing(
    database: Database
) -> None:
    clock = Clock()
    therapist, client, pseudonym = await setup_pair(database, clock)
    response = await client.send(f"I want to kill myself {SECRET}")
    [(chat, notice)] = response.also
    assert chat == 9001 and pseudonym in notice.text and "crisis" in notice.text
    assert SECRET not in notice.text and "kill" not in notice.text
    await client.send("/unlink")
    assert "no longer linked" in client.said
    await therapist.send(f"/digest {pseudonym}")
    assert "isn't one of your linked clients" in therapist.said
    response = await client.send("I want to kill myself")
    assert response.also == []


async def test_delete_erases_every_row_of_the_client(database: Database) -> None:
    clock = Clock()
    therapist, client, pseudonym = await setup_pair(database, clock)
    await complete_thought_record(client)
    await client.send("/thought")
    await client.send("an unfinished draft")
    await client.send("I want to kill myself")
    await client.send("/reminders")
    await client.send("Madrid")
    await client.press("Yes, remind me")
    await therapist.send(f"/export {pseudonym} csv")
    await client.send("/delete")
    assert "can't be undone" in client.said
    await client.press("Cancel")
    await client.send("/delete")
    await client.press("Yes, delete everything")
    assert "has been deleted" in client.said
    async with database.read() as session:
        client_ids = set((await session.execute(
            select(Client.id).where(Client.telegram_user_id == 9002))).scalars())
        assert client_ids == set()
        for table in Base.metadata.sorted_tables:
            if "client_id" in table.c:
                count = (await session.execute(select(func.count()).select_from(table).where(
                    table.c.client_id.is_not(None),
                    table.c.client_id.not_in(select(Client.id))))).scalar_one()
                assert count == 0, table.name
        records = await TherapistRepository(session).audit_records()
    assert records and all(r.client_pseudonym != pseudonym for r in records)

"""Notifications say what happened (issue 14): the change, the status it moved to, the note or
reason; and the email of a notification says the same."""

from __future__ import annotations

from tests.conftest import gql, make_settings
from tests.discussions import community, join, ok, thread
from tests.mail import smtp_server
from tests.support import CHANGE_STATUS, TRIAGE, government, moderator, submit

NOTIFICATIONS = """
{ notifications { nodes { kind change status note actor { name } } } }
"""
MODERATE = """
mutation($t: ID!) {
  moderateThread(input: {threadId: $t, action: LOCK, reason: "Off topic: see the FAQ"}) {
    ok errors { code } } }
"""


async def test_support_request_updates_can_be_told_apart(database_url, db, client, factory):
    from app.delivery import DeliveryWorker

    # given: a government's request, triaged, then declined with a reason
    gov = await government(factory)
    focal = await moderator(factory)
    request_id = await submit(client, gov.requester)
    await ok(client, TRIAGE, {"id": request_id}, focal)
    declined = {"id": request_id, "status": "DECLINED", "reason": "Outside the network's mandate"}
    await ok(client, CHANGE_STATUS, declined, focal)
    # when: the requester reads their notifications
    body = await gql(client, NOTIFICATIONS, member=gov.requester)
    # then: each says what happened, newest first
    assert body["data"]["notifications"]["nodes"] == [
        {
            "kind": "SUPPORT_REQUEST_UPDATE",
            "change": "DECLINED",
            "status": "DECLINED",
            "note": "Outside the network's mandate",
            "actor": {"name": "Fiona Focal"},
        },
        {
            "kind": "SUPPORT_REQUEST_UPDATE",
            "change": "TRIAGED",
            "status": "TRIAGED",
            "note": None,
            "actor": {"name": "Fiona Focal"},
        },
    ]
    # and their emails say it too
    with smtp_server() as (inbox, url):
        worker = DeliveryWorker.from_settings(db, make_settings(database_url, smtp_url=url))
        assert await worker.run_round() == 2
    bodies = {}
    for message in inbox.messages:
        part = message.get_body(("plain",))
        assert part is not None
        bodies[message["Message-ID"]] = part.get_content().replace("\r\n", "\n")
    declined_mail = [b for b in bodies.values() if "Status: DECLINED" in b]
    assert len(declined_mail) == 1
    assert "Note: Outside the network's mandate" in declined_mail[0]
    assert len({m["In-Reply-To"] for m in inbox.messages}) == 1  # one conversation


async def test_a_moderation_notification_carries_the_moderators_reason(client, factory):
    community_id, mod = await community(client, factory)
    author = await factory.member()
    await join(client, community_id, author)
    thread_id = await thread(client, community_id, author)
    await ok(client, MODERATE, {"t": thread_id}, mod)
    body = await gql(client, NOTIFICATIONS, member=author)
    assert body["data"]["notifications"]["nodes"] == [
        {
            "kind": "MODERATION",
            "change": "LOCK_THREAD",
            "status": None,
            "note": "Off topic: see the FAQ",
            "actor": {"name": "Mod Erator"},
        }
    ]

"""Notifications say what happened (issue 14): the change, the status it moved to, the note or
reason; and the email of a notification says the same."""

from __future__ import annotations

import re
from pathlib import Path

from models.moderation import ModerationAction
from models.notification import NotificationKind
from models.review import ReviewState
from models.support import SupportStatus
from resolvers.email_deliveries import EmailFacts, Recipient
from resolvers.notification_facts import NotificationFacts
from resolvers.policy import Viewer
from resolvers.support import SupportChange
from schema.mail_texts import change_lines, templates
from tests.conftest import gql, make_settings
from tests.discussions import community, join, ok, thread
from tests.mail import smtp_server
from tests.support import CHANGE_STATUS, TRIAGE, government, moderator, submit

ROOT = Path(__file__).resolve().parents[1]
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
    declined_mail = [b for b in bodies.values() if "Status: Declined" in b]
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


def _literal_codes() -> set[str]:
    """The change codes written as literals where notifications are made (the rest are enums)."""
    found: set[str] = set()
    for path in (ROOT / "resolvers").rglob("*.py"):
        text = path.read_text("utf-8")
        found |= set(re.findall(r'"change": "([A-Z_]+)"', text))
        found |= set(re.findall(r'notify_attendees\([^)]*"([A-Z_]+)"\)', text))
        found |= set(re.findall(r'change = "([A-Z_]+)"', text))
    return found


def test_every_change_and_status_reads_in_words_in_each_mail_language():
    # given every code a notification's change or status can hold
    enums = (SupportChange, SupportStatus, ModerationAction, ReviewState)
    codes = {member.value for enum in enums for member in enum} | _literal_codes()
    codes |= {"ARCHIVED", "SENT_BACK_TO_REVIEW"}  # what_happened's own
    assert {"PUBLISHED", "SEAT_GRANTED", "RESCHEDULED", "CANCELLED", "OPENED"} <= codes
    for language in ("fr", "es"):
        for code in sorted(codes):
            # when it is shown as a change and as a status
            facts = NotificationFacts(
                kind=NotificationKind.SUPPORT_REQUEST_UPDATE,
                link=None,
                conversation=None,
                change={"Change": code, "Status": code},
            )
            (_, as_change), (_, as_status) = change_lines(language, facts)
            # then it reads in the language, never as the code or its English fallback
            fallback = code.replace("_", " ").capitalize()
            assert as_change == as_status, (language, code)
            assert as_change not in {code, fallback}, (language, code, as_change)


def test_a_note_stays_the_members_text_and_is_escaped_in_html():
    notification = NotificationFacts(
        kind=NotificationKind.SUPPORT_REQUEST_UPDATE,
        link=None,
        conversation=None,
        change={"Change": "DECLINED", "Note": "Fees <b>now</b> & IN_PROGRESS"},
    )
    recipient = Recipient("k", 1, "amelie@example.org", "Amélie", Viewer(member_id=1), ("fr",))
    html = (
        templates("fr")
        .get_template("email/notification.html")
        .render(
            facts=EmailFacts(recipient, notification),
            link_of=lambda facts: None,
            notifications_link="https://hub.example/notifications",
            unsubscribe="https://hub.example/unsubscribe/t",
        )
    )
    assert "<dd>Refusé</dd>" in html
    assert "<dd>Fees &lt;b&gt;now&lt;/b&gt; &amp; IN_PROGRESS</dd>" in html

"""Notifications: mentions, replies and reactions reach the right members, live too."""

from __future__ import annotations

from tests.conftest import gql
from tests.discussions import community, join, ok, post, thread
from tests.live import connect

NOTIFICATIONS = """
query($unread: Boolean!) {
  unreadNotificationCount
  notifications(unreadOnly: $unread) { nodes { kind actor { name } thread { title } post { body } } }
}
"""
MARK_READ = "mutation { markNotificationsRead(input: {}) { unreadCount errors { code } } }"
REACT = """
mutation($p: ID!) { reactToPost(input: {postId: $p, kind: INSIGHTFUL}) {
  post { reactions { kind count reactedByViewer } } errors { code } } }
"""
FOLLOW = """
mutation($t: ID!, $l: WatchLevel!) { follow(input: {targetId: $t, level: $l}) { level errors { code } } }
"""
RECEIVED = """
subscription($after: String) { notificationReceived(after: $after) {
  __typename ... on NotificationEvent { cursor notification { kind post { body } } } } }
"""


async def test_mention_reply_and_reaction_notify_the_right_members(client, factory):
    community_id, _ = await community(client, factory)
    author = await factory.member(name="Thread Author")
    mentioned = await factory.member(name="Mentioned Member")
    replier = await factory.member(name="Replier")
    for member in (author, mentioned, replier):
        await join(client, community_id, member)
    thread_id = await thread(client, community_id, author)
    reply = await post(
        client,
        thread_id,
        replier,
        f"Agreed, and @[Mentioned Member]({mentioned.global_id}) knows more.",
    )
    await ok(client, REACT, {"p": reply["id"]}, author)

    author_view = (await gql(client, NOTIFICATIONS, {"unread": True}, member=author))["data"]
    mentioned_view = (await gql(client, NOTIFICATIONS, {"unread": True}, member=mentioned))["data"]
    replier_view = (await gql(client, NOTIFICATIONS, {"unread": True}, member=replier))["data"]
    assert [n["kind"] for n in author_view["notifications"]["nodes"]] == ["REPLY"]
    assert author_view["notifications"]["nodes"][0]["actor"] == {"name": "Replier"}
    assert [n["kind"] for n in mentioned_view["notifications"]["nodes"]] == ["MENTION"]
    assert [n["kind"] for n in replier_view["notifications"]["nodes"]] == ["REACTION"]
    assert "<strong>@Mentioned Member</strong>" in reply["bodyHtml"]

    marked = await ok(client, MARK_READ, {}, author)
    assert marked["unreadCount"] == 0
    assert (await gql(client, NOTIFICATIONS, {"unread": True}, member=author))["data"][
        "notifications"
    ]["nodes"] == []


async def test_muting_a_thread_silences_it(client, factory):
    community_id, moderator = await community(client, factory)
    author = await factory.member()
    await join(client, community_id, author)
    thread_id = await thread(client, community_id, author)
    await ok(client, FOLLOW, {"t": thread_id, "l": "MUTED"}, author)
    await post(client, thread_id, moderator, "A reply nobody is told about")
    body = await gql(client, NOTIFICATIONS, {"unread": False}, member=author)
    assert body["data"]["unreadNotificationCount"] == 0


async def test_notifications_arrive_live(app, client, factory):
    community_id, moderator = await community(client, factory)
    author = await factory.member()
    await join(client, community_id, author)
    thread_id = await thread(client, community_id, author)
    cursor = await gql(client, "{ notificationCursor }", member=author)
    async with connect(app, author.token) as socket:
        await socket.subscribe(RECEIVED, {"after": cursor["data"]["notificationCursor"]})
        await post(client, thread_id, moderator, "Live reply")
        [event] = await socket.next_payloads(1)
    notification = event["notificationReceived"]["notification"]
    assert notification == {"kind": "REPLY", "post": {"body": "Live reply"}}

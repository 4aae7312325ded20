"""Two server processes sharing PostgreSQL and a broker: a post written through one reaches
subscribers connected to the other. Once with Redis, once with PostgreSQL NOTIFY alone."""

from __future__ import annotations

import json
import os

import httpx
import pytest
from httpx_ws import aconnect_ws
from sqlalchemy.engine import make_url

from tests.discussions import community, post, thread
from tests.live import THREAD_EVENTS
from tests.servers import server
from tests.services import unavailable


def broker_urls(database_url: str) -> list[str]:
    urls = []
    redis_url = os.environ.get("HUB_BROADCAST_URL", "")
    if redis_url.startswith("redis"):
        urls.append(redis_url)
    if database_url.startswith("postgresql"):
        urls.append(make_url(database_url).set(drivername="postgresql").render_as_string(False))
    return urls


@pytest.mark.parametrize("broker", ["redis", "postgres"])
async def test_a_post_written_on_one_process_reaches_subscribers_on_the_other(
    broker, database_url, factory
):
    if not database_url.startswith("postgresql"):
        unavailable("scale-out needs PostgreSQL (HUB_DATABASE_URL)")
    urls = [u for u in broker_urls(database_url) if u.startswith(broker)]
    if not urls:
        unavailable(f"no {broker} broker configured (HUB_BROADCAST_URL)")
    async with (
        server(database_url, urls[0]) as first,
        server(database_url, urls[0]) as second,
        httpx.AsyncClient(base_url=first) as writer,
        httpx.AsyncClient(base_url=second) as reader,
    ):
        # given: a thread, made through the first process
        community_id, moderator = await community(writer, factory)
        thread_id = await thread(writer, community_id, moderator)
        # and a subscriber on the second process
        async with aconnect_ws("/graphql", reader, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send_json({"type": "connection_init", "payload": {"token": moderator.token}})
            assert (await ws.receive_json())["type"] == "connection_ack"
            await ws.send_json(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": THREAD_EVENTS, "variables": {"threadId": thread_id}},
                }
            )
            # when: posts are written through the first process
            for body in ("one", "two", "three"):
                await post(writer, thread_id, moderator, body)
            # then: the subscriber on the second receives each, in order
            received = []
            while len(received) < 3:
                message = json.loads(await ws.receive_text(timeout=10))
                assert message["type"] == "next", message
                received.append(message["payload"]["data"]["threadEvents"]["post"]["body"])
    assert received == ["one", "two", "three"]

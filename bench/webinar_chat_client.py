"""Subscribers for `webinar_chat.py`: `fanout_client.py` subscribed to `webinarEvents` instead
of `threadEvents`. The aliases (`threadEvents:`, `post:`) give the messages the shape the
fan-out client and its analysis already read; nothing else differs.

    python bench/webinar_chat_client.py --url ws://127.0.0.1:8000/graphql --thread-id <webinar ID> ...
"""

from __future__ import annotations

import sys

import fanout_client
import uvloop

# No viewer-specific field: participants of one scope share one execution of each event.
fanout_client.SUBSCRIPTION = (
    "subscription($threadId: ID!, $after: String) { threadEvents: webinarEvents("
    "webinarId: $threadId, after: $after) { __typename ... on WebinarEvent { cursor kind "
    "occurredAt post: chatMessage { id body } } ... on ResyncRequired { message } } }"
)

if __name__ == "__main__":
    sys.exit(uvloop.run(fanout_client.main_async(fanout_client.parse_args())))

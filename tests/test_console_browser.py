"""The moderators' console in a real browser (headless Chromium), against a real `hub serve` in
production mode, with every other host unreachable: it loads, a moderator signs in, runs the
flag queue, watches a flag arrive live, signs out; a plain member cannot introspect."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
import pytest

from models.member import Role
from tests.browser import Page, chrome, failure_directory, require_chromium
from tests.conftest import PASSWORD, broadcast_url_for_tests, gql
from tests.console import installed_assets
from tests.discussions import community, join, ok, post, thread
from tests.servers import server

if TYPE_CHECKING:
    from tests.conftest import TestMember

FLAG = "mutation($p: ID!, $r: String!) { flagContent(input: {postId: $p, reason: $r}) { ok errors { code } } }"
PROBE = "query Probe { __schema { queryType { name } } }"
REFUSED = "Introspection is available in development and to moderators and admins."


@dataclass
class Cast:
    moderator: TestMember
    member: TestMember
    live_post_id: str


async def cast(client: httpx.AsyncClient, factory) -> Cast:
    """A community with a flagged post waiting in the queue, and another post to flag live."""
    community_id, moderator = await community(client, factory)
    member = await factory.member(role=Role.MEMBER, name="Careful Reader")
    await join(client, community_id, member)
    thread_id = await thread(client, community_id, member)
    waiting = await post(client, thread_id, member, "Buy cheap visas here")
    await ok(client, FLAG, {"p": waiting["id"], "r": "Spam"}, member)
    live = await post(client, thread_id, member, "Send me your passport number")
    return Cast(moderator, member, str(live["id"]))


def moderation_cursor(base: str, moderator: TestMember) -> str:
    response = httpx.post(
        f"{base}/graphql", json={"query": "{ moderationCursor }"}, headers=moderator.headers
    )
    cursor: str = response.json()["data"]["moderationCursor"]
    return cursor


def flag_through_the_api(base: str, member: TestMember, post_id: str, reason: str) -> None:
    response = httpx.post(
        f"{base}/graphql",
        json={"query": FLAG, "variables": {"p": post_id, "r": reason}},
        headers=member.headers,
    )
    assert response.json()["data"]["flagContent"]["errors"] == [], response.text


def moderator_session(page: Page, base: str, people: Cast) -> None:
    # the console loads for anyone, with the moderators' tabs and the sign-in
    page.driver.get(f"{base}/graphql")
    page.until(lambda: page.shown("#sign-in"), "the console")
    page.open_tab("FlagQueue")
    # a moderator signs in: the token is the tab's only
    page.sign_in(people.moderator.email, PASSWORD)
    assert page.element("#signed-in-role").text == "MODERATOR"
    assert page.token() is not None
    assert page.driver.get_cookies() == []
    # the flag queue shows the flagged post
    page.open_tab("FlagQueue")
    page.run()
    page.wait_response("Buy cheap visas here")
    # live moderation: a flag raised through the API appears
    page.open_tab("LiveModeration")
    after = moderation_cursor(base, people.moderator)
    page.set_variables({"after": after})
    page.until(lambda: after in page.stored_tabs(), "the cursor kept in the tab")
    # run the moment the tab is switched to (GraphiQL still holds the previous tab's operation
    # name): it must still go over the WebSocket, as a subscription
    page.open_tab("FlagQueue")
    page.open_tab_and_run("LiveModeration")
    flag_through_the_api(base, people.member, people.live_post_id, "Phishing attempt")
    shown = page.wait_response("Phishing attempt")
    assert "FLAG_RAISED" in shown
    assert "Send me your passport number" in shown
    page.run()  # stop the subscription
    # signed in, the moderator may introspect
    page.new_tab("Probe", PROBE)
    page.run()
    page.wait_response('"name": "Query"')
    # signed out, introspection is refused again
    page.sign_out()
    assert page.token() is None
    page.open_tab("Probe")
    page.run()
    page.wait_response(REFUSED)


def member_session(page: Page, base: str, people: Cast) -> None:
    # a plain member signs in: introspection stays refused in production
    page.sign_in(people.member.email, PASSWORD)
    assert page.element("#signed-in-role").text == "MEMBER"
    page.open_tab("Probe")
    page.run()
    page.wait_response(REFUSED)
    assert '"name": "Query"' not in page.response()
    # their session ends elsewhere (logout from another client): the next request's 401
    # drops the token from the tab and brings the sign-in back
    token = page.token()
    assert token is not None
    logout = httpx.post(
        f"{base}/graphql",
        json={"query": "mutation { logout { loggedOut } }"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert logout.json()["data"]["logout"]["loggedOut"] is True
    page.run()
    page.until(lambda: page.shown("#sign-in"), "the sign-in form after a 401")
    assert page.token() is None


def drive(base: str, people: Cast, request: pytest.FixtureRequest) -> None:
    driver = chrome()
    page = Page(driver)
    try:
        moderator_session(page, base, people)
        member_session(page, base, people)
        # the page works under its own Content-Security-Policy, refused nothing
        assert page.csp_violations() == []
        # nothing the page asked for left loopback
        assert page.outside_requests() == []
        assert any("/console/assets/graphiql-" in url for url in page.requests())
        assert any(url.startswith("ws://127.0.0.1") for url in page.requests())
    except BaseException:
        shot = page.keep_evidence(failure_directory(request), request.node.name)
        print(f"console browser test failed: screenshot {shot}")
        print(f"the response pane: {page.response()!r}")
        print(f"the variables pane: {page.editor('.graphiql-editor-tool')!r}")
        raise
    finally:
        driver.quit()


async def test_a_moderator_works_in_the_console_and_a_member_cannot_introspect(
    database_url, client, factory, request, tmp_path
):
    require_chromium()
    people = await cast(client, factory)
    settings = {
        "HUB_ENV": "production",
        "HUB_ALLOW_PROCESS_LOCAL": "1",
        "HUB_CONSOLE_ASSETS_DIR": str(installed_assets()),
    }
    async with server(
        database_url,
        broadcast_url_for_tests(),
        tmp_path / "server.log",
        settings=settings,
        hub_serve=True,
        ready_polls=600,
    ) as base:
        try:
            await asyncio.to_thread(drive, base, people, request)
        except BaseException:
            log = (tmp_path / "server.log").read_text(encoding="utf-8", errors="replace")
            print("the server's log, its end:", log[-6000:], sep="\n")
            raise
    # the member's flag went through the real server
    queue = await gql(client, "{ moderationQueue { totalCount } }", member=people.moderator)
    assert queue["data"]["moderationQueue"]["totalCount"] == 2

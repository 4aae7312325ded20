"""Messages that leave the server in the reader's language (issues 14 and 15): a member's
emails, digests and push messages are written in the first language they declared that the hub
has a catalogue for (else English), with the titles of what they name in the member's
languages where a translation they may see exists, and the original marked with its language
where none does; dates are formatted for the locale."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import update

from app.main import create_app
from models.base import utcnow
from models.notification import Notification
from resolvers.digests import schedule_digests
from schema.mail_texts import mail_language
from schema.relay import encode_id
from tests.conftest import api_client, gql
from tests.discussions import community, join, post, thread
from tests.knowledge import cast, ok, published
from tests.live import connect
from tests.mail import smtp_server
from tests.push import push_service
from tests.test_outbox import UPDATE_PREFERENCES
from tests.test_push import push_settings, register, worker
from tests.test_topic_follows import FOLLOW, objective, tell_followers
from tests.test_translations import translate

SPANISH_MONTHS = [
    *("enero", "febrero", "marzo", "abril", "mayo", "junio"),
    *("julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"),
]


def parts(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and HTML parts of a message, as the reader's client shows them."""
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None
    assert html is not None
    return (
        str(text.get_content()).replace("\r\n", "\n"),
        str(html.get_content()).replace("\r\n", "\n"),
    )


async def send_all(db: Any, broadcast: Any, database_url: str, url: str) -> None:
    """The workers: fan-out jobs expanded, then everything sent to the SMTP server at `url`."""
    await tell_followers(db, broadcast, database_url, smtp_url=url)


def test_a_member_reads_the_first_declared_language_with_a_catalogue_else_english():
    assert mail_language(("fr-CA", "es")) == "fr"
    assert mail_language(("sw", "es-MX", "fr")) == "es"
    assert mail_language(("ru", "ar")) == "en"
    assert mail_language(()) == "en"


async def test_a_french_member_gets_french_mail_with_french_titles_and_marked_english_ones(
    database_url, db, client, factory, broadcast
):
    # given: a French-speaking member who wants what is published on objective 6 at once
    people = await cast(factory)
    reader = await factory.member(name="Amélie", languages=("fr", "en"))
    await ok(client, FOLLOW, {"t": objective(6)}, reader)
    immediate = [{"kind": "FOLLOWED_TOPIC", "email": "IMMEDIATE"}]
    await ok(client, UPDATE_PREFERENCES, {"p": immediate}, reader)
    # and: two resources published on it, one of them translated into French by a member
    translated = await published(client, people, title="Fair recruitment toolkit")
    await published(client, people, title="Remittance costs guide")
    translator = await factory.member(languages=("fr",))
    done = await translate(
        client, translator, translated, "fr", title="Boîte à outils du recrutement équitable"
    )
    assert done["errors"] == [], done

    # when: the worker sends what was written
    with smtp_server() as (inbox, url):
        await send_all(db, broadcast, database_url, url)
    mails = [m for m in inbox.messages if reader.email in str(m["To"])]

    # then: two mails in French, the translated title in French, the other marked English
    subjects = sorted(str(m["Subject"]) for m in mails)
    assert subjects == [
        "Publié sur un sujet que vous suivez : « Boîte à outils du recrutement équitable »",
        "Publié sur un sujet que vous suivez : « Remittance costs guide (anglais) »",
    ]
    for message in mails:
        assert message["Content-Language"] == "fr"
        text, html = parts(message)
        assert text.startswith("Bonjour Amélie,\n")
        assert "Vous recevez ce message en raison de vos réglages de notification" in text
        assert "Ne plus recevoir ces courriels :" in text
        assert "Changement: Publié" in text
        assert '<html lang="fr">' in html
        assert "<p>Bonjour Amélie,</p>" in html
        assert "L\u2019ouvrir sur le Migration Network Hub" in html
        assert ">réglages de notification</a>" in html
        assert "You receive" not in text + html
    [french] = [m for m in mails if "Boîte" in str(m["Subject"])]
    text, html = parts(french)
    assert "« Boîte à outils du recrutement équitable »" in text
    assert "« Boîte à outils du recrutement équitable »" in html
    [english] = [m for m in mails if "Remittance" in str(m["Subject"])]
    assert "« Remittance costs guide (anglais) »" in parts(english)[1]

    # and: the unsubscribe page and its answers read in the browser's language
    link = urlsplit(str(english["List-Unsubscribe"]).strip("<>")).path
    page = await client.get(link, headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert '<html lang="fr">' in page.text
    assert "Ne plus recevoir ces courriels du Migration Network Hub ?" in page.text
    one_click = "List-Unsubscribe=One-Click"
    done = await client.post(link, content=one_click, headers={"Accept-Language": "es"})
    assert (done.status_code, done.text) == (200, "No recibirá más correos sobre: tema seguido.\n")
    again = await client.post(link, content=one_click, headers={"Accept-Language": "fr"})
    assert (again.status_code, again.text) == (410, "Ce lien a déjà été utilisé.\n")


async def test_a_member_with_no_catalogue_language_reads_english_with_titles_marked(
    database_url, db, client, factory, broadcast
):
    # given: a member who reads Russian (no catalogue yet) and a resource written in French
    people = await cast(factory)
    reader = await factory.member(name="Ivan", languages=("ru",))
    await ok(client, FOLLOW, {"t": objective(6)}, reader)
    immediate = [{"kind": "FOLLOWED_TOPIC", "email": "IMMEDIATE"}]
    await ok(client, UPDATE_PREFERENCES, {"p": immediate}, reader)
    await published(client, people, title="Guide des transferts de fonds", language="fr")
    # when
    with smtp_server() as (inbox, url):
        await send_all(db, broadcast, database_url, url)
    # then: English, and the title marked French in English
    [message] = [m for m in inbox.messages if reader.email in str(m["To"])]
    assert message["Subject"] == (
        "Published on a topic you follow: “Guide des transferts de fonds (French)”"
    )
    assert message["Content-Language"] == "en"
    assert parts(message)[0].startswith("Hello Ivan,\n")


async def test_a_spanish_digest(database_url, db, client, factory, broadcast):
    # given: a Spanish-speaking member who wants followed topics daily, a resource published
    # on their objective yesterday with a Spanish translation, and a reply to their thread
    people = await cast(factory)
    reader = await factory.member(name="Lucía", languages=("es",))
    await ok(client, FOLLOW, {"t": objective(6)}, reader)
    daily = [{"kind": "FOLLOWED_TOPIC", "email": "DAILY"}, {"kind": "REPLY", "email": "DAILY"}]
    await ok(client, UPDATE_PREFERENCES, {"p": daily}, reader)
    resource = await published(client, people, title="Fair recruitment toolkit")
    await tell_followers(db, broadcast, database_url)
    translator = await factory.member(languages=("es",))
    done = await translate(
        client, translator, resource, "es", title="Guía de contratación equitativa"
    )
    assert done["errors"] == [], done
    community_id, moderator = await community(client, factory, slug="labour-migration")
    await join(client, community_id, reader)
    thread_id = await thread(client, community_id, reader, title="Comisiones")
    await post(client, thread_id, moderator, "Una respuesta")
    yesterday = utcnow() - timedelta(days=1)
    async with db.sessions.begin() as session:
        await session.execute(
            update(Notification)
            .where(Notification.member_id == reader.id)
            .values(created_at=yesterday)
        )

    # when: the day's digests are written and sent
    assert await schedule_digests(db.sessions, utcnow()) >= 1
    with smtp_server() as (inbox, url):
        await send_all(db, broadcast, database_url, url)

    # then: one digest in Spanish, its day written the Spanish way, its titles in Spanish
    [message] = [m for m in inbox.messages if reader.email in str(m["To"])]
    day = f"{yesterday.day} de {SPANISH_MONTHS[yesterday.month - 1]} de {yesterday.year}"
    assert message["Subject"] == f"Su resumen diario del Migration Network Hub ({day})"
    assert message["Content-Language"] == "es"
    text, html = parts(message)
    assert text.startswith("Hola, Lucía:\n")
    # the community has no Spanish name: its English one, marked
    assert "== Labour Migration (inglés): respuesta (1)" in text
    assert "Mod Erator respondió en «Comisiones»" in text
    assert "== En otras partes del hub: tema seguido (1)" in text
    assert "Publicado sobre un tema que sigue: «Guía de contratación equitativa»" in text
    assert "Dejar de recibir estos correos:" in text
    assert '<html lang="es">' in html
    assert "Publicado sobre un tema que sigue: «Guía de contratación equitativa»" in html
    assert "Dejar de recibir estos correos</a>" in html


async def test_a_push_message_is_written_in_the_members_language(
    database_url, db, broadcast, factory
):
    app = create_app(push_settings(database_url), db, broadcast)
    async with api_client(app) as client:
        await _a_french_reply_pushed(client, database_url, db, factory)


async def _a_french_reply_pushed(client: Any, database_url: str, db: Any, factory: Any) -> None:
    with push_service() as service:
        # given: a French-speaking author subscribed in their browser
        community_id, moderator = await community(client, factory)
        author = await factory.member(name="Auteur", languages=("fr",))
        await join(client, community_id, author)
        thread_id = await thread(client, community_id, author, title="Frais de recrutement")
        browser = service.browser("auteur")
        assert (await register(client, author, browser))["errors"] == []
        # when: someone replies, and a worker sends what was written
        await post(client, thread_id, moderator, "Une réponse")
        assert await worker(database_url, db).run_round() == 2  # the email and the push
        # then: the push message's title is French
        [received] = service.received
        message = browser.decrypt(received.body)
        assert message["title"] == "Mod Erator a répondu dans « Frais de recrutement »"
        assert message["body"] == "Une réponse"


async def test_titles_are_escaped_in_the_html_part(database_url, db, client, factory, broadcast):
    # given: a thread whose title looks like markup, and a reply to it
    community_id, moderator = await community(client, factory)
    author = await factory.member(name="Author")
    await join(client, community_id, author)
    thread_id = await thread(client, community_id, author, title="Fees <b>now</b> & later")
    await post(client, thread_id, moderator, "A reply")
    # when
    with smtp_server() as (inbox, url):
        await send_all(db, broadcast, database_url, url)
    # then: the HTML part shows the title as text; the plain part as it was written
    [message] = [m for m in inbox.messages if author.email in str(m["To"])]
    text, html = parts(message)
    assert "“Fees &lt;b&gt;now&lt;/b&gt; &amp; later”" in html
    assert "<b>now</b>" not in html
    assert "“Fees <b>now</b> & later”" in text


async def test_not_found_reads_in_the_negotiated_language(client, factory):
    # given: a member who decides a join request that does not exist (once it was "No such
    # {what}.", formatted from the noun, so no catalogue could hold it)
    member = await factory.member()
    decide = """
    mutation($input: DecideJoinRequestInput!) { decideJoinRequest(input: $input) {
      errors { field code message } } }
    """
    variables = {"input": {"requestId": encode_id("Thread", 9999), "accept": True}}
    answers = {}
    for language in ("fr", "es", "en"):
        headers = {"Accept-Language": language}
        body = await gql(client, decide, variables, member=member, headers=headers)
        assert "errors" not in body, body
        [error] = body["data"]["decideJoinRequest"]["errors"]
        answers[language] = (error["message"], error["code"])
    # then: a message per kind of thing, translated; the code stays
    assert answers == {
        "fr": ("Cette demande d'adhésion n'existe pas.", "NOT_FOUND"),
        "es": ("No existe esa solicitud de adhesión.", "NOT_FOUND"),
        "en": ("No such join request.", "NOT_FOUND"),
    }


HEADLINES = "{ notifications { nodes { kind headline } } }"
RECEIVED = """
subscription($after: String) { notificationReceived(after: $after) {
  ... on NotificationEvent { notification { kind headline } } } }
"""


async def test_a_notifications_headline_follows_the_requests_language(
    app, client, factory, db, broadcast, database_url
) -> None:
    # given: a French-speaking follower of objective 6, and a resource published on it that
    # has a Spanish translation and no French one
    people = await cast(factory)
    follower = await factory.member(name="Amélie", languages=("fr",))
    await ok(client, FOLLOW, {"t": objective(6)}, follower)
    cursor = await gql(client, "{ notificationCursor }", member=follower)
    resource = await published(client, people, title="Fair recruitment toolkit")
    await tell_followers(db, broadcast, database_url)
    translator = await factory.member(languages=("es",))
    done = await translate(client, translator, resource, "es", title="Guía de contratación")
    assert done["errors"] == [], done

    # when: the follower reads their notifications in their own language, in Spanish, in
    # English, and live on a socket that asked for Spanish
    async def headline(**headers: str) -> str:
        body = await gql(client, HEADLINES, member=follower, headers=headers)
        assert "errors" not in body, body
        [node] = body["data"]["notifications"]["nodes"]
        return str(node["headline"])

    declared = await headline()
    spanish = await headline(**{"Accept-Language": "es"})
    english = await headline(**{"Accept-Language": "en"})
    async with connect(app, follower.token, language="es") as socket:
        after = cursor["data"]["notificationCursor"]
        await socket.subscribe(RECEIVED, {"after": after})
        [event] = await socket.next_payloads(1)

    # then: each reads in its language, the title in it where translated, else marked
    assert declared == (
        "Publié sur un sujet que vous suivez : « Fair recruitment toolkit (anglais) »"
    )
    assert spanish == "Publicado sobre un tema que sigue: «Guía de contratación»"
    assert english == "Published on a topic you follow: “Fair recruitment toolkit”"
    live = event["notificationReceived"]["notification"]
    assert live == {"kind": "FOLLOWED_TOPIC", "headline": spanish}

"""The policy's rules over many members at once (issue 14): `members_may_be_notified` and
`notifications_visible_to_their_members` decide, in one statement over member rows, what
`may_be_notified` and `visible_notifications` decide for one viewer at a time. Proven here
for every viewer of the visibility matrix (and a colleague of the author's organisation) and
every kind of subject: private, public and missing ones."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import insert, select

from models.db import Database
from models.member import Member
from models.notification import Notification, NotificationKind
from resolvers import policy
from resolvers.policy import Viewer
from schema.relay import decode_int_id
from tests.conftest import Factory
from tests.discussions import community, thread
from tests.test_visibility_matrix import (
    NOWHERE,
    TYPES,
    people,
    private_community,
    private_objects,
    subjects,
)
from tests.webinars import webinar


def every_subject(ids: dict[str, int], public: dict[str, int]) -> list[dict[str, Any]]:
    """Each key alone (on the private object, a public one where the world has it, and one
    that does not exist), then the subjects each notification kind is written with."""
    alone: list[dict[str, Any]] = []
    for number in (ids["community"], public["community"], NOWHERE):
        alone.append({"community": number})
    for number in (ids["thread"], public["thread"], NOWHERE):
        alone.append({"thread": number, "post": ids["post"]})
    for number in (ids["webinar"], public["webinar"], NOWHERE):
        alone.append({"webinar": number})
    for number in (ids["request"], NOWHERE):
        alone.append({"supportRequest": number})
    for kind, key in (("RESOURCE", "resource"), ("INITIATIVE", "initiative")):
        for number in (ids[key], NOWHERE):
            alone.append({"item_kind": kind, "item": number})
    alone.append({"call": NOWHERE})
    alone.append({"reason": "no subject at all"})
    return [*alone, *subjects(ids).values()]


async def the_world(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> tuple[list[Viewer], list[dict[str, Any]]]:
    crowd = await people(factory)
    community_id = await private_community(client, factory, crowd)
    objects = {"community": community_id, **await private_objects(client, crowd, community_id)}
    ids = {key: decode_int_id(value, TYPES[key]) or 0 for key, value in objects.items()}
    open_community, founder = await community(client, factory, slug="open-circle")
    public = {
        "community": decode_int_id(open_community, "Community") or 0,
        "thread": decode_int_id(await thread(client, open_community, founder), "Thread") or 0,
        "webinar": decode_int_id(await webinar(client, founder), "Webinar") or 0,
    }
    author = crowd[next(v for v in crowd if v.value == "author")]
    assert author is not None
    async with db.sessions() as session:
        government = await session.scalar(
            select(Member.organization_id).where(Member.id == author.id)
        )
    colleague = await factory.member(name="Colleague", organization_id=government)
    async with db.sessions() as session:
        rows = await session.execute(select(Member.id, Member.role, Member.organization_id))
        viewers = [
            Viewer(member_id=r.id, role=r.role, organization_id=r.organization_id) for r in rows
        ]
    assert colleague.id in {v.member_id for v in viewers}
    return viewers, every_subject(ids, public)


async def test_the_set_based_check_agrees_with_the_per_viewer_check(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    # given: the visibility matrix's world, its viewers and every kind of subject
    viewers, cases = await the_world(client, factory, db)
    members = [v.member_id for v in viewers]
    disagreements = []
    decided: set[bool] = set()
    async with db.sessions() as session:
        for subject in cases:
            # when: each viewer is asked alone, then all of them in one statement
            alone = {
                v.member_id
                for v in viewers
                if await session.scalar(select(policy.may_be_notified(v, subject)))
            }
            together = set(
                await session.scalars(
                    select(Member.id).where(
                        Member.id.in_(members), policy.members_may_be_notified(subject)
                    )
                )
            )
            # then: the same members
            if alone != together:
                disagreements.append(
                    f"{subject}: alone {sorted(alone)}, together {sorted(together)}"
                )
            decided.add(len(alone) == len(viewers))
    assert not disagreements, "\n".join(disagreements)
    # the world is one where the answer depends on the viewer (else nothing is proven)
    assert decided == {True, False}


async def test_the_stored_notifications_check_agrees_with_the_per_viewer_check(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    # given: a notification about every subject for every viewer, written past the policy
    viewers, cases = await the_world(client, factory, db)
    async with db.sessions.begin() as session:
        await session.execute(
            insert(Notification),
            [
                {"member_id": v.member_id, "kind": NotificationKind.MODERATION, "subject": s}
                for v in viewers
                for s in cases
            ],
        )
    async with db.sessions() as session:
        # when: each viewer reads theirs, then all are checked against their members at once
        alone: set[int] = set()
        for viewer in viewers:
            alone.update(
                await session.scalars(
                    select(Notification.id).where(policy.visible_notifications(viewer))
                )
            )
        together = set(
            await session.scalars(
                select(Notification.id)
                .join(Member, Member.id == Notification.member_id)
                .where(policy.notifications_visible_to_their_members())
            )
        )
        everything = set(await session.scalars(select(Notification.id)))
    # then: the same notifications, and not all of them
    assert together == alone
    assert len(viewers) * len(cases) == len(everything) > len(alone) > 0


async def test_the_translations_members_see_agree_with_the_per_viewer_rule(db, factory):
    # given: members of every role, a reviewer who speaks French, and translations of an item
    # in every status, one of them machine-made by a plain member
    from models.member import MemberLanguage, Role
    from models.translation import TranslatableKind, Translation, TranslationStatus

    roles = [*Role, Role.REVIEWER]
    members = [await factory.member(role=role) for role in roles]
    speaker, translator = members[-1], members[0]
    async with db.sessions.begin() as session:
        session.add(MemberLanguage(member_id=speaker.id, tag="fr", position=0))
        for language, status, by in (
            ("fr", TranslationStatus.MACHINE, None),
            ("fr-CA", TranslationStatus.MACHINE, None),
            ("es", TranslationStatus.MACHINE, translator.id),
            ("de", TranslationStatus.HUMAN, None),
            ("ar", TranslationStatus.VERIFIED, None),
            ("ru", TranslationStatus.OUTDATED, None),
        ):
            session.add(
                Translation(
                    kind=TranslatableKind.RESOURCE,
                    item_id=1,
                    field="title",
                    language=language,
                    text=f"title in {language}",
                    status=status,
                    translator_id=by,
                )
            )
    async with db.sessions() as session:
        # when: each viewer's rule, and the rule over all their member rows at once
        one_by_one = set()
        for member, role in zip(members, roles, strict=True):
            viewer = Viewer(member_id=member.id, role=role)
            languages = await session.scalars(
                select(Translation.language).where(policy.visible_translations(viewer))
            )
            one_by_one.update((member.id, language) for language in languages)
        at_once = set(
            (
                await session.execute(
                    select(Member.id, Translation.language).where(
                        Member.id.in_([m.id for m in members]),
                        policy.translations_seen_by_members(),
                    )
                )
            ).all()
        )
    # then: the same pairs; and the rule is not trivial (some see more than others)
    assert at_once == one_by_one
    seen = {m.id: {lang for who, lang in at_once if who == m.id} for m in members}
    assert {"fr", "fr-CA"} <= seen[speaker.id]
    assert "es" in seen[translator.id]
    assert "fr" not in seen[translator.id]

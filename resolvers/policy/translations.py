"""Translations and translation requests."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    and_,
    exists,
    false,
    func,
    or_,
    true,
)

from models.member import Member, MemberLanguage
from models.translation import Translation, TranslationRequest, TranslationStatus
from resolvers.policy.knowledge import REVIEWER_ROLES
from resolvers.policy.viewer import MEMBERS, Viewer


def speaks(declared: Collection[str], language: str) -> bool:
    """A member who declared `fr` speaks `fr` and `fr-CA`; one who declared `fr-CA`, `fr`."""
    primary = language.split("-")[0]
    return any(tag.split("-")[0] == primary for tag in declared)


def visible_translations(viewer: Viewer) -> ColumnElement[bool]:
    """Translations of an item the viewer sees (the item's own predicate decides that first).

    The default: a HUMAN translation is shown at once to everyone who sees the item, marked as
    such (as are VERIFIED and OUTDATED ones); a MACHINE translation only to its translator,
    staff and reviewers who speak its language, until a reviewer verifies it. A named member
    who declared the language answers for a human translation; nobody answers for a tool's."""
    if viewer.is_staff:
        return true()
    if viewer.member_id is None:
        return _SHOWN
    return _seen_by_member(viewer.member_id, viewer.role in REVIEWER_ROLES)


def translations_seen_by_members() -> ColumnElement[bool]:
    """`visible_translations` for every member row of the enclosing query (which selects
    from `member` and `translation`): the titles of a batch of emails in one statement."""
    reviewer = Member.role.in_(sorted(REVIEWER_ROLES, key=lambda role: role.value))
    assert isinstance(MEMBERS.staff, ColumnElement)
    return or_(MEMBERS.staff, _seen_by_member(Member.id, reviewer))


_SHOWN = Translation.status != TranslationStatus.MACHINE


def _seen_by_member(
    someone: int | SQLColumnExpression[int], reviewer: bool | ColumnElement[bool]
) -> ColumnElement[bool]:
    """A signed-in member's branch: shown ones, their own, and (reviewers) the machine
    translations into a language they declared."""
    own = Translation.translator_id == someone
    if reviewer is False:
        return or_(_SHOWN, own)
    speaker = exists().where(
        MemberLanguage.member_id == someone,
        or_(
            MemberLanguage.tag == Translation.language,
            func.substr(Translation.language, 1, func.length(MemberLanguage.tag) + 1)
            == MemberLanguage.tag + "-",
        ),
    )
    return or_(_SHOWN, own, and_(reviewer, speaker) if reviewer is not True else speaker)


def may_translate(viewer: Viewer, declared: Collection[str], language: str) -> bool:
    """Members translate into a language they declared on their profile."""
    return viewer.is_signed_in and speaks(declared, language)


def may_verify_translation(
    viewer: Viewer, declared: Collection[str], language: str, translator_ids: Collection[int]
) -> bool:
    """Reviewers (and staff) who declared the language verify others' translations."""
    return (
        viewer.role in REVIEWER_ROLES
        and speaks(declared, language)
        and viewer.member_id not in translator_ids
    )


def may_remove_translation(viewer: Viewer) -> bool:
    return viewer.is_staff


def may_request_translation(viewer: Viewer) -> bool:
    """Any signed-in member asks to have an item they see in a language."""
    return viewer.is_signed_in


def visible_translation_requests(
    viewer: Viewer, item_visible: ColumnElement[bool]
) -> ColumnElement[bool]:
    """Signed-in members (the translators who pick requests up) see the open requests for
    items they may see (`item_visible`, the item's own predicate); who asked is never shown,
    only how many and whether the viewer did."""
    if not viewer.is_signed_in:
        return false()
    return and_(TranslationRequest.closed_at.is_(None), item_visible)

"""GCM objectives, guiding principles, countries and UN regions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from models.db import AnyRow
from models.reference import UnRegion as UnRegionModel
from models.reference import un_official_languages
from resolvers import reference
from resolvers.validation import country_name
from schema.context import Info
from schema.enums import described_enum
from schema.localized import LANGUAGE, LocalizedText
from schema.reference_texts import (
    Language as Language,
)
from schema.reference_texts import (
    ReferenceText,
    country_value,
    reference_texts,
    reference_value,
    region_value,
)
from schema.relay import AFTER, FIRST, Connection, Node, encode_id, page_request

if TYPE_CHECKING:
    from schema.initiatives import Initiative
    from schema.members import Member
    from schema.resources import Resource

# An objective's page lists its resources and experts; those modules build on this one.
LazyResource = Annotated["Resource", strawberry.lazy("schema.resources")]
LazyInitiative = Annotated["Initiative", strawberry.lazy("schema.initiatives")]
LazyMember = Annotated["Member", strawberry.lazy("schema.members")]

UnRegion = described_enum(
    UnRegionModel,
    "Top-level regions of the UN M49 standard (the value is the M49 code).",
    {
        "AFRICA": "Africa (M49 002).",
        "AMERICAS": "The Americas (M49 019).",
        "ASIA": "Asia (M49 142).",
        "EUROPE": "Europe (M49 150).",
        "OCEANIA": "Oceania (M49 009).",
    },
)


@strawberry.type(description="One of the 23 objectives of the Global Compact for Migration.")
class GcmObjective(Node):
    number: int = strawberry.field(description="Objective number, 1 to 23.")
    short_title: str = strawberry.field(
        description="Short title used in filters and tags (English: no official short titles "
        "exist in the other languages)."
    )
    english_title: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: AnyRow) -> GcmObjective:
        return cls(
            id=encode_id("GcmObjective", row.number),
            number=row.number,
            short_title=row.short_title,
            english_title=row.title,
        )

    @strawberry.field(
        description="Full title as adopted in A/RES/73/195, in the request's language where "
        "its official text was found, else in English (`titleText` says which)."
    )
    async def title(self, info: Info) -> str:
        return (await reference_value(info, "objective", str(self.number), self.english_title)).text

    @strawberry.field(description="The full title with its language and status.")
    async def title_text(
        self, info: Info, language: Annotated[str | None, LANGUAGE] = None
    ) -> LocalizedText:
        key = str(self.number)
        return LocalizedText.of(
            await reference_value(info, "objective", key, self.english_title, language)
        )

    @strawberry.field(
        description="The full title in each of the six official languages, with its source, "
        "or marked missing."
    )
    async def title_translations(self, info: Info) -> list[ReferenceText]:
        return await reference_texts(info, "objective", str(self.number), self.english_title)

    # --- an objective's page: counts and lists of what addresses it (only what you may see)

    @strawberry.field(description="Published resources on this objective that you may see.")
    async def resource_count(self, info: Info) -> int:
        from resolvers.resources import ResourceFilter, count_resources

        criteria = ResourceFilter(objectives=[self.number])
        return await count_resources(info.context.db.sessions, info.context.viewer, criteria)

    @strawberry.field(
        description="Published resources on this objective, newest first; superseded ones "
        "after their successors."
    )
    async def resources(
        self,
        info: Info,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
    ) -> Connection[LazyResource]:
        from resolvers.resources import ResourceFilter, ResourceOrder, resources_page
        from schema.relay import connection
        from schema.resources import Resource

        page = await resources_page(
            info.context.db.reads,
            info.context.viewer,
            ResourceFilter(objectives=[self.number]),
            ResourceOrder.NEWEST,
            page_request(first, after, None, None),
        )
        return connection(page, Resource.from_row)

    @strawberry.field(description="Published initiatives on this objective that you may see.")
    async def initiative_count(self, info: Info) -> int:
        from resolvers.initiatives import InitiativeFilter, count_initiatives

        criteria = InitiativeFilter(objectives=[self.number])
        return await count_initiatives(info.context.db.sessions, info.context.viewer, criteria)

    @strawberry.field(description="Published initiatives on this objective, newest first.")
    async def initiatives(
        self,
        info: Info,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
    ) -> Connection[LazyInitiative]:
        from resolvers.initiatives import InitiativeFilter, InitiativeOrder, initiatives_page
        from schema.initiatives import Initiative
        from schema.relay import connection

        page = await initiatives_page(
            info.context.db.reads,
            info.context.viewer,
            InitiativeFilter(objectives=[self.number]),
            InitiativeOrder.NEWEST,
            page_request(first, after, None, None),
        )
        return connection(page, Initiative.from_row)

    @strawberry.field(description="Experts on this objective you may see in the directory.")
    async def expert_count(self, info: Info) -> int:
        from resolvers.members import MemberFilter, members_page

        criteria = MemberFilter(objectives=[self.number], is_expert=True)
        page = await members_page(
            info.context.db.reads,
            info.context.viewer,
            criteria,
            page_request(0, None, None, None),
        )
        return await page.count()

    @strawberry.field(description="Experts on this objective, by name.")
    async def experts(
        self,
        info: Info,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
    ) -> Connection[LazyMember]:
        from resolvers.members import MemberFilter, members_page
        from schema.members import Member
        from schema.relay import connection

        criteria = MemberFilter(objectives=[self.number], is_expert=True)
        page = await members_page(
            info.context.db.reads,
            info.context.viewer,
            criteria,
            page_request(first, after, None, None),
        )
        return connection(page, Member.from_row)


@strawberry.type(
    description="One of the 10 cross-cutting guiding principles of the GCM (para. 15)."
)
class GuidingPrinciple:
    letter: str = strawberry.field(description="Letter of the principle in paragraph 15, a to j.")
    english_name: strawberry.Private[str]

    @strawberry.field(
        description="Name of the principle, in the request's language where an official text "
        "was found, else in English (`nameText` says which)."
    )
    async def name(self, info: Info) -> str:
        return (await reference_value(info, "principle", self.letter, self.english_name)).text

    @strawberry.field(description="The name with its language and status.")
    async def name_text(
        self, info: Info, language: Annotated[str | None, LANGUAGE] = None
    ) -> LocalizedText:
        value = await reference_value(info, "principle", self.letter, self.english_name, language)
        return LocalizedText.of(value)

    @strawberry.field(
        description="The name in each of the six official languages, with its source, or "
        "marked missing."
    )
    async def name_translations(self, info: Info) -> list[ReferenceText]:
        return await reference_texts(info, "principle", self.letter, self.english_name)


@strawberry.type(description="A country, by its ISO 3166-1 alpha-2 code.")
class Country:
    code: str = strawberry.field(description="ISO 3166-1 alpha-2 code, such as KE.")

    @strawberry.field(
        description="Its name in the request's language (CLDR), else its English short name "
        "(ISO 3166)."
    )
    async def name(self, info: Info) -> str:
        return (await country_value(info, self.code, country_name(self.code), None)).text

    @strawberry.field(description="Its name with the language it is in.")
    async def name_text(
        self, info: Info, language: Annotated[str | None, LANGUAGE] = None
    ) -> LocalizedText:
        value = await country_value(info, self.code, country_name(self.code), language)
        return LocalizedText.of(value)


async def objectives_of(info: Info, numbers: list[int]) -> list[GcmObjective]:
    """The objectives with these numbers, through the operation's loader."""
    rows = await info.context.loaders.objective_by_number.load_many(numbers)
    return [GcmObjective.from_row(row) for row in rows if row is not None]


def country(code: str | None) -> Country | None:
    return Country(code=code) if code else None


@strawberry.type(description="A top-level region of the UN M49 standard.")
class Region:
    region: UnRegion = strawberry.field(description="The region, as used in filters.")  # type: ignore[valid-type]
    m49: str = strawberry.field(description="Its M49 code, such as 002.")

    @strawberry.field(description="Its name in the request's language (CLDR), else in English.")
    async def name(self, info: Info) -> str:
        return (await region_value(info, self.m49, self.english_name, None)).text

    @strawberry.field(description="Its name with the language it is in.")
    async def name_text(
        self, info: Info, language: Annotated[str | None, LANGUAGE] = None
    ) -> LocalizedText:
        return LocalizedText.of(await region_value(info, self.m49, self.english_name, language))

    @property
    def english_name(self) -> str:
        return UnRegionModel(self.m49).name.title().replace("_", " ")


def resolve_un_regions() -> list[Region]:
    return [Region(region=r, m49=r.value) for r in UnRegionModel]


def resolve_official_languages() -> list[str]:
    return list(un_official_languages())


def resolve_un_languages() -> list[Language]:
    return [Language(tag=tag) for tag in un_official_languages()]


async def resolve_gcm_objectives(info: Info) -> list[GcmObjective]:
    return [
        GcmObjective.from_row(r) for r in await reference.all_objectives(info.context.db.sessions)
    ]


async def resolve_gcm_objective(
    info: Info,
    number: Annotated[int, strawberry.argument(description="Objective number, 1 to 23.")],
) -> GcmObjective | None:
    row = await info.context.loaders.objective_by_number.load(number)
    return GcmObjective.from_row(row) if row is not None else None


async def resolve_guiding_principles(info: Info) -> list[GuidingPrinciple]:
    rows = await reference.all_guiding_principles(info.context.db.sessions)
    return [GuidingPrinciple(letter=r.letter, english_name=r.name) for r in rows]

"""Reference data of the Global Compact for Migration (A/RES/73/195), seeded by a migration."""

from __future__ import annotations

import enum
import json
from functools import cache
from importlib import resources
from typing import Any, NamedTuple

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class GcmObjective(Base):
    __tablename__ = "gcm_objective"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    short_title: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(300))


class GuidingPrinciple(Base):
    __tablename__ = "guiding_principle"

    letter: Mapped[str] = mapped_column(String(1), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))


class UnRegion(enum.Enum):
    """Top-level regions of the UN M49 standard, valued by their M49 code."""

    AFRICA = "002"
    AMERICAS = "019"
    ASIA = "142"
    EUROPE = "150"
    OCEANIA = "009"


@cache
def gcm_reference() -> dict[str, Any]:
    """The project's copy of shared/reference/gcm.json, as shipped in the package."""
    text = resources.files("models").joinpath("reference/gcm.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def un_official_languages() -> tuple[str, ...]:
    return tuple(gcm_reference()["un_official_languages"])


@cache
def _region_by_country() -> dict[str, UnRegion]:
    text = resources.files("models").joinpath("reference/m49_regions.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return {code: UnRegion(m49) for m49, codes in data.items() if m49 != "source" for code in codes}


def region_of_country(code: str) -> UnRegion | None:
    """The top-level M49 region of an ISO 3166-1 alpha-2 country code (None for Antarctica)."""
    return _region_by_country().get(code.upper())


def countries_in_region(region: UnRegion) -> list[str]:
    return sorted(code for code, r in _region_by_country().items() if r is region)


class ReferenceTitle(NamedTuple):
    """A reference title in another language, with where it was copied from."""

    kind: str  # "objective" or "principle"
    key: str  # the objective's number or the principle's letter
    language: str
    text: str
    source: str


@cache
def gcm_translations() -> dict[str, Any]:
    """The project's copy of shared/reference/gcm_translations.json: titles found in other
    official languages, each with its source, and what is still missing per language."""
    path = "reference/gcm_translations.json"
    data: dict[str, Any] = json.loads(resources.files("models").joinpath(path).read_text("utf-8"))
    return data


def _sources(entry: dict[str, Any], group: str, key: str, fallback: str) -> str:
    sources = entry.get("sources_by_key", {}).get(group, {}).get(key)
    return "; ".join(sources) if sources else fallback


def reference_translations() -> list[ReferenceTitle]:
    """Every title of gcm_translations.json, as seeded (never typed or translated here)."""
    letters = {p["name"]: p["letter"] for p in gcm_reference()["guiding_principles"]}
    titles: list[ReferenceTitle] = []
    for language, entry in gcm_translations()["languages"].items():
        for number, text in entry.get("objectives", {}).items():
            source = _sources(entry, "objectives", number, entry["source"])
            titles.append(ReferenceTitle("objective", number, language, text, source))
        principle_source = entry.get("guiding_principles_source", entry["source"])
        for name, text in entry.get("guiding_principles", {}).items():
            titles.append(
                ReferenceTitle("principle", letters[name], language, text, principle_source)
            )
    return titles

"""Reference data of the Global Compact for Migration (A/RES/73/195), seeded by a migration."""

from __future__ import annotations

import enum
import json
from functools import cache
from importlib import resources
from typing import Any

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

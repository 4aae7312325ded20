"""The reference data in every official language: GCM titles from the seeded official texts
with their sources (missing ones said so, and English marked in their place); countries,
regions and languages named from CLDR in the request's language."""

from __future__ import annotations

import json
from pathlib import Path

from models.reference import gcm_reference
from tests.conftest import gql

SHARED = Path(__file__).resolve().parents[2] / "shared" / "reference" / "gcm_translations.json"
PACKAGED = Path(__file__).resolve().parents[1] / "models" / "reference" / "gcm_translations.json"

OBJECTIVES = """
{ gcmObjectives {
    number title titleText { text language status }
    titleTranslations { language text source missing } }
  guidingPrinciples { letter name nameText { language status } nameTranslations { language missing } } }
"""


async def test_every_objective_and_principle_is_complete_in_six_languages_or_marked_missing(client):
    # when the reference data is read with every title in every official language
    body = await gql(client, OBJECTIVES)

    # then each objective and principle has six entries: a text with its source, or missing
    assert "errors" not in body, body
    objectives = body["data"]["gcmObjectives"]
    principles = body["data"]["guidingPrinciples"]
    assert len(objectives) == 23
    assert len(principles) == 10
    for objective in objectives:
        entries = objective["titleTranslations"]
        assert [e["language"] for e in entries] == ["ar", "en", "es", "fr", "ru", "zh"]
        for entry in entries:
            assert entry["missing"] == (entry["text"] is None)
            assert entry["missing"] == (entry["source"] is None)
    # and the missing ones are those the data file says are missing
    french = {o["number"]: o["titleTranslations"][3] for o in objectives}
    assert [n for n, e in french.items() if e["missing"]] == [18]
    assert french[1]["text"].startswith("Collecter et utiliser des données précises")
    assert "migrationnetwork.un.org/fr" in french[1]["source"]
    assert all(o["titleTranslations"][0]["missing"] for o in objectives)  # Arabic: none found
    assert all(not p["nameTranslations"][5]["missing"] for p in principles)  # Chinese: all 10


async def test_a_french_reader_gets_french_titles_and_english_marked_where_missing(client):
    # when a reader asks in French
    body = await gql(client, OBJECTIVES, headers={"Accept-Language": "fr"})

    # then French where the official text was found, English marked `en` for objective 18
    objectives = {o["number"]: o for o in body["data"]["gcmObjectives"]}
    assert objectives[6]["titleText"]["language"] == "fr"
    assert objectives[6]["titleText"]["status"] == "HUMAN"
    assert objectives[6]["title"].startswith("Favoriser des pratiques de recrutement")
    english_18 = gcm_reference()["objectives"][17]["title"]
    assert objectives[18]["titleText"] == {
        "text": english_18,
        "language": "en",
        "status": "ORIGINAL",
    }
    principle_a = body["data"]["guidingPrinciples"][0]
    assert principle_a["name"] == "Priorité à la dimension humaine"
    # and in Arabic, nothing official was found: English, marked, never empty
    arabic = await gql(client, OBJECTIVES, headers={"Accept-Language": "ar"})
    first = arabic["data"]["gcmObjectives"][0]
    assert first["titleText"]["language"] == "en"
    assert first["title"] == gcm_reference()["objectives"][0]["title"]


def test_the_packaged_translations_are_the_shared_reference_file():
    # the data is seeded from the file, never retyped: the project's copy is the shared one
    if SHARED.exists():
        assert json.loads(PACKAGED.read_text("utf-8")) == json.loads(SHARED.read_text("utf-8"))


NAMES = """
query($lang: String) {
  unRegions { m49 name nameText(language: $lang) { text language } }
  unLanguages { tag name direction nameText(language: $lang) { text language } }
  gcmObjective(number: 1) { titleText(language: $lang) { language } }
}
"""
COUNTRY = "{ resources(first: 1) { nodes { countries { code name nameText { text language status } } } } }"


async def test_countries_regions_and_languages_are_named_from_cldr_in_the_requested_language(
    client,
):
    # when the names are read in Spanish (by header) and in Chinese (by argument)
    spanish = await gql(client, NAMES, {"lang": None}, headers={"Accept-Language": "es"})
    chinese = await gql(client, NAMES, {"lang": "zh"})

    # then they come from CLDR in that language
    regions = {r["m49"]: r for r in spanish["data"]["unRegions"]}
    assert regions["019"]["name"] == "América"
    languages = {lang["tag"]: lang for lang in spanish["data"]["unLanguages"]}
    assert languages["fr"]["name"] == "francés"
    assert languages["ar"]["direction"] == "rtl"
    assert languages["en"]["direction"] == "ltr"
    chinese_languages = {lang["tag"]: lang for lang in chinese["data"]["unLanguages"]}
    assert chinese_languages["en"]["nameText"] == {"text": "英语", "language": "zh"}
    assert chinese["data"]["unRegions"][0]["nameText"]["language"] == "zh"
    # and without a language, English as before
    english = await gql(client, NAMES, {"lang": None})
    assert {r["m49"]: r["name"] for r in english["data"]["unRegions"]}["019"] == "Americas"

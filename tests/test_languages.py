"""The negotiation's pure parts: Accept-Language and connection_init parsing, and which text
a field answers for ranked (asked for) and unranked (declared) languages."""

from __future__ import annotations

from models.translation import TranslationStatus
from resolvers.languages import (
    LocalizedValue,
    TranslatedText,
    best_text,
    languages_from_connection_params,
    parse_accept_language,
)

ORIGINAL = LocalizedValue("Toolkit", "en", TranslationStatus.ORIGINAL)
FRENCH = TranslatedText("fr", "Boîte à outils", TranslationStatus.HUMAN)
SPANISH = TranslatedText("es", "Kit", TranslationStatus.VERIFIED)
OLD_ARABIC = TranslatedText("ar", "قديم", TranslationStatus.OUTDATED)


def test_accept_language_is_read_by_weight_and_rubbish_is_left_out():
    assert parse_accept_language("fr-CA,fr;q=0.9,en;q=0.8,*;q=0.5") == ("fr-CA", "fr", "en")
    assert parse_accept_language("es;q=0.2, ar") == ("ar", "es")
    assert parse_accept_language("de;q=0, x-klingon, en;q=abc, zz-ZZ-9999999") == ()
    assert parse_accept_language("ES-mx") == ("es-MX",)
    assert parse_accept_language(None) == ()
    # a header's first 50 entries are read (bounded work for any header)
    assert parse_accept_language(",".join(["fr"] * 500 + ["es", "ar"])) == ("fr",)
    assert parse_accept_language(",".join(["fr"] * 48 + ["es", "ar"])) == ("fr", "es", "ar")


def test_connection_init_takes_a_tag_a_header_or_a_list():
    assert languages_from_connection_params({"language": "fr"}) == ("fr",)
    assert languages_from_connection_params({"language": "fr, es;q=0.5"}) == ("fr", "es")
    assert languages_from_connection_params({"language": ["zh", 5, "ar"]}) == ("zh", "ar")
    assert languages_from_connection_params({"language": {"no": "dict"}}) == ()
    assert languages_from_connection_params(None) == ()


def test_the_first_asked_language_with_a_text_wins_and_outdated_is_never_best():
    texts = [FRENCH, SPANISH, OLD_ARABIC]
    assert best_text(ORIGINAL, texts, ["es", "fr"]).text == "Kit"
    assert best_text(ORIGINAL, texts, ["fr-BE"]).language == "fr"
    assert best_text(ORIGINAL, texts, ["ar", "ru"]) == ORIGINAL
    assert best_text(ORIGINAL, texts, ["en-GB", "fr"]) == ORIGINAL
    assert best_text(ORIGINAL, [], ["fr"]) == ORIGINAL


def test_declared_languages_are_read_in_the_members_own_order():
    # a member who declared sw, fr and ar reads French (there is no Swahili), not Arabic
    texts = [FRENCH, SPANISH, TranslatedText("ar", "عدة", TranslationStatus.HUMAN)]
    assert best_text(ORIGINAL, texts, ["sw", "fr", "ar"]).language == "fr"
    assert best_text(ORIGINAL, texts, ["ar", "en", "fr"]).language == "ar"
    assert best_text(ORIGINAL, texts, ["sw", "en", "fr"]) == ORIGINAL

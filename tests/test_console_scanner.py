"""The console reads which operations a text defines with a small scanner of its own
(app/console/static/console.js, `scanOperations`): the text that is sent, not GraphiQL's parse
of it, decides the operation's name and whether it goes over the WebSocket. Run in the real
browser on every GraphQL text of the tests, the benchmarks, the README and the console's
ready-made operations, its answer must equal graphql-core's parse."""

from __future__ import annotations

from graphql import ExecutableDefinitionNode, GraphQLSyntaxError, OperationDefinitionNode, parse

from tests.browser import chrome, require_chromium
from tests.document_corpus import ROOT_DIR, markdown_blocks, python_strings

CONSOLE_JS = ROOT_DIR / "app" / "console" / "static" / "console.js"
OPERATIONS = ROOT_DIR / "app" / "console" / "operations"
# Texts that are hard for a scanner: keywords in comments, strings, block strings, arguments
# and variables' default values; shorthand queries; fragments.
HARD = [
    "# subscription Fake\nsubscription Live($after: String) { moderationEvents(after: $after) { __typename } }",
    'query Q { a(s: "subscription X {") } fragment F on T { x }',
    'query A($i: In = {query: "mutation"}) { a } subscription B @d(if: true) { b { c } }',
    '"""a { block } string""" query D { a }',
    "{ viewer { id } }",
    "mutation { m(input: {flag: true}) { ok } }",
]


def scanner_source() -> str:
    """`scanOperations` as console.js defines it."""
    text = CONSOLE_JS.read_text(encoding="utf-8")
    start = text.index("  function scanOperations(")
    end = text.index("\n  }\n", start) + len("\n  }\n")
    return text[start:end]


def graphql_texts() -> list[str]:
    candidates = list(HARD)
    for folder in ("tests", "bench"):
        for path in sorted((ROOT_DIR / folder).rglob("*.py")):
            candidates += [text for _, text in python_strings(path)]
    candidates += [text for _, text in markdown_blocks(ROOT_DIR / "README.md")]
    candidates += [p.read_text(encoding="utf-8") for p in sorted(OPERATIONS.glob("*.graphql"))]
    texts: dict[str, None] = {}
    for text in candidates:
        try:
            document = parse(text)
        except GraphQLSyntaxError:
            continue
        if all(isinstance(d, ExecutableDefinitionNode) for d in document.definitions):
            texts[text] = None  # what can be run (not the schema language)
    return list(texts)


def operations(text: str) -> list[list[str | None]]:
    return [
        [d.operation.value, d.name.value if d.name else None]
        for d in parse(text).definitions
        if isinstance(d, OperationDefinitionNode)
    ]


def test_the_consoles_scanner_reads_every_text_as_graphql_core_parses_it() -> None:
    require_chromium()
    texts = graphql_texts()
    assert len(texts) > 300  # the corpus was found
    assert len(list(OPERATIONS.glob("*.graphql"))) > 5
    driver = chrome()
    try:
        scanned = driver.execute_script(
            scanner_source()
            + "return arguments[0].map((text) =>"
            + " scanOperations(text).map((o) => [o.operation, o.name]));",
            texts,
        )
    finally:
        driver.quit()
    wrong = [
        (text, got, operations(text))
        for text, got in zip(texts, scanned, strict=True)
        if got != operations(text)
    ]
    assert wrong == []

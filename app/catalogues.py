"""The message catalogues' ids, read from the code and the templates: every constant text a
mutation may answer in `UserError.message` (`Problem(field, "…")`, `problems.add(field, "…")`,
`UserError(message="…")`, `not_found(field, "…")`), and every text the email and push
templates (app/templates) translate (`{% trans %}` blocks and `_("…")`, extracted by Babel with
Jinja2's extractor). `hub messages-update` merges them into schema/locale/*.po with Babel, so a
new message lands in every catalogue, untranslated until a translator fills it.

Why not `pybabel extract` for the Python side: it finds texts inside `_()` calls, and our
messages are data (`Problem`) translated where they are shown, not where they are written. A
message argument that is not a constant (an f-string, a variable) cannot be in a catalogue:
`computed_messages()` lists them, and a test keeps that list empty."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

from schema.messages import CATALOGUE_LANGUAGES, LOCALE_DIR

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("resolvers", "schema")
TEMPLATES = Path("app") / "templates"
# The options the templates are rendered with (schema/mail_texts.py): ids must be what is looked up.
TEMPLATE_OPTIONS = {
    "trimmed": "true",
    "trim_blocks": "true",
    "lstrip_blocks": "true",
    "newstyle_gettext": "true",
    "silent": "false",  # a template that does not parse fails the extraction, never skipped
}


def _message_argument(call: ast.Call) -> ast.expr | None:
    func = call.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    if name == "Problem" and len(call.args) >= 2:
        return call.args[1]
    if name == "add" and len(call.args) >= 2 and isinstance(func, ast.Attribute):
        return call.args[1] if "problem" in ast.unparse(func.value).lower() else None
    if name == "not_found" and len(call.args) >= 2:
        return call.args[1]
    if name == "UserError":
        return next((k.value for k in call.keywords if k.arg == "message"), None)
    return None


def _message_arguments(path: Path) -> Iterator[tuple[ast.expr, int]]:
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Call):
            message = _message_argument(node)
            if message is not None:
                yield message, node.lineno


def _sources(root: Path) -> Iterator[tuple[str, Path]]:
    for package in SOURCES:
        for path in sorted((root / package).rglob("*.py")):
            yield path.relative_to(root).as_posix(), path


def _template_messages(root: Path) -> Iterator[tuple[str, str, int]]:
    for path in sorted((root / TEMPLATES).rglob("*.*")):
        extracted = extract_from_file("jinja2", str(path), options=TEMPLATE_OPTIONS)
        for line, text, _comments, _context in extracted:
            if not isinstance(text, str):
                raise ValueError(f"{path}:{line}: plural messages are not supported: {text}")
            yield text, str(path.relative_to(root)), line


def _constants(message: ast.expr) -> Iterator[str]:
    """The texts a message argument may be: a constant, or either constant of a choice."""
    if isinstance(message, ast.Constant) and isinstance(message.value, str):
        yield message.value
    elif isinstance(message, ast.IfExp):
        yield from _constants(message.body)
        yield from _constants(message.orelse)


def _computed(message: ast.expr) -> bool:
    """A text built where it is written (a variable only passes a message on)."""
    if isinstance(message, ast.IfExp):
        return _computed(message.body) or _computed(message.orelse)
    return isinstance(message, ast.JoinedStr | ast.BinOp | ast.Call)


def message_ids(root: Path = ROOT) -> dict[str, list[tuple[str, int]]]:
    """Every constant message id of the code and the templates, with where it is written."""
    found: dict[str, list[tuple[str, int]]] = {}
    for name, path in _sources(root):
        for message, line in _message_arguments(path):
            for text in _constants(message):
                found.setdefault(text, []).append((name, line))
    for text, name, line in _template_messages(root):
        found.setdefault(text, []).append((name, line))
    return found


def computed_messages(root: Path = ROOT) -> list[str]:
    """Where a message is computed (an f-string, a concatenation, a call): no catalogue can
    hold it; values go in `message_values` beside a constant template instead."""
    return [
        f"{name}:{line}: {ast.unparse(message)}"
        for name, path in _sources(root)
        for message, line in _message_arguments(path)
        if _computed(message)
    ]


def update_catalogues(root: Path = ROOT) -> list[Path]:
    """Merge the code's message ids into every catalogue: new ids added untranslated, ids the
    code no longer has made obsolete; translations kept."""
    template = Catalog(project="migration-network-hub")
    for text, locations in message_ids(root).items():
        template.add(text, locations=locations)
    written = []
    for language in CATALOGUE_LANGUAGES:
        path = root / "schema" / LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
        catalogue = Catalog(locale=language, project="migration-network-hub")
        if path.exists():
            with path.open("rb") as file:
                catalogue = read_po(file, locale=language)
        catalogue.update(template, no_fuzzy_matching=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as file:
            write_po(file, catalogue, width=100, omit_header=False, ignore_obsolete=True)
        written.append(path)
    return written

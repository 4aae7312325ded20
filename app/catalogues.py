"""The message catalogues' ids, read from the code: every constant text a mutation may answer
in `UserError.message` (`Problem(field, "…")`, `problems.add(field, "…")`,
`UserError(message="…")`). `hub messages-update` merges them into schema/locale/*.po with
Babel, so a new message lands in every catalogue, untranslated until a translator fills it.

Why not `pybabel extract`: it finds texts inside `_()` calls, and our messages are data
(`Problem`) translated where they are shown, not where they are written."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from schema.messages import CATALOGUE_LANGUAGES, LOCALE_DIR

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("resolvers", "schema")


def _message_argument(call: ast.Call) -> ast.expr | None:
    func = call.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    if name == "Problem" and len(call.args) >= 2:
        return call.args[1]
    if name == "add" and len(call.args) >= 2 and isinstance(func, ast.Attribute):
        return call.args[1] if "problem" in ast.unparse(func.value).lower() else None
    if name == "UserError":
        return next((k.value for k in call.keywords if k.arg == "message"), None)
    return None


def _constant_messages(path: Path) -> Iterator[tuple[str, int]]:
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Call):
            message = _message_argument(node)
            if isinstance(message, ast.Constant) and isinstance(message.value, str):
                yield message.value, node.lineno


def message_ids(root: Path = ROOT) -> dict[str, list[tuple[str, int]]]:
    """Every constant message id, with where it is written."""
    found: dict[str, list[tuple[str, int]]] = {}
    for package in SOURCES:
        for path in sorted((root / package).glob("*.py")):
            for text, line in _constant_messages(path):
                found.setdefault(text, []).append((f"{package}/{path.name}", line))
    return found


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

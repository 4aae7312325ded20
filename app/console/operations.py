"""The console's ready-made operations: committed `.graphql` files, one tab each.

Each file starts with comment lines that document it, one of them `# variables: {...}`: the
JSON the tab opens with."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DIRECTORY = Path(__file__).with_name("operations")

# The console's own sign-in and sign-out, exactly as static/console.js sends them: documents the
# server ships, trusted without a push, so that moderators can sign in when only trusted
# documents run (HUB_TRUSTED_DOCUMENTS_ONLY); signed in, they may send any document.
SIGN_IN = (
    "mutation SignIn($input: LoginInput!) { login(input: $input) "
    "{ token viewer { id name role } errors { message code } } }"
)
SIGN_OUT = "mutation SignOut { logout { loggedOut errors { message code } } }"
CONSOLE_DOCUMENTS = (SIGN_IN, SIGN_OUT)
VARIABLES_PREFIX = "# variables:"


@dataclass(frozen=True)
class ReadyOperation:
    """One ready-made operation: its file name, text and the variables it opens with."""

    file: str
    query: str
    variables: dict[str, Any]

    def as_tab(self) -> dict[str, str]:
        """GraphiQL's shape of a default tab."""
        return {"query": self.query, "variables": json.dumps(self.variables, indent=2)}


def _variables(text: str, file: str) -> dict[str, Any]:
    for line in text.splitlines():
        if line.startswith(VARIABLES_PREFIX):
            value = json.loads(line[len(VARIABLES_PREFIX) :])
            if not isinstance(value, dict):
                raise ValueError(f"{file}: `# variables:` must be a JSON object")
            return value
    raise ValueError(f"{file}: no `# variables:` line")


@cache
def ready_operations() -> tuple[ReadyOperation, ...]:
    """Every ready-made operation, in file-name order (the tabs' order)."""
    operations = []
    for path in sorted(DIRECTORY.glob("*.graphql")):
        text = path.read_text(encoding="utf-8")
        operations.append(ReadyOperation(path.name, text, _variables(text, path.name)))
    return tuple(operations)

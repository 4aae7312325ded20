"""Every access decision is made in the policy package (resolvers/policy/): a lint over the
application's code finds role and staff checks written anywhere else."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("app", "schema", "resolvers", "subscriptions", "models")
POLICY = ROOT / "resolvers" / "policy"
# Files that use roles as data, not to decide who may do what.
NOT_DECIDING = {ROOT / "app" / "seed" / "knowledge.py"}  # the demo picks its reviewers by role
ROLE_ENUMS = {"Role", "CommunityRole", "WebinarHostRole"}
STAFF_PROPERTIES = {"is_staff", "is_admin"}
DECIDING = (ast.Eq, ast.NotEq, ast.Is, ast.IsNot, ast.In, ast.NotIn)


def _is_role_value(node: ast.expr) -> bool:
    """`Role.ADMIN`, `CommunityRole.MODERATOR`, ... or something's `.role`."""
    if isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name) and node.value.id in ROLE_ENUMS:
            return True
        return node.attr in {"role", "host_role", "community_role"}
    return False


def access_decisions(source: str) -> list[tuple[int, str]]:
    """Lines of `source` that decide access on their own: reading a viewer's staff flags, or
    comparing a role with a role constant."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in STAFF_PROPERTIES:
            found.append((node.lineno, f".{node.attr}"))
        elif isinstance(node, ast.Compare) and any(isinstance(op, DECIDING) for op in node.ops):
            sides = [node.left, *node.comparators]
            enum_side = any(
                isinstance(side, ast.Attribute)
                and isinstance(side.value, ast.Name)
                and side.value.id in ROLE_ENUMS
                for side in sides
            )
            if enum_side and any(_is_role_value(side) for side in sides):
                found.append((node.lineno, ast.unparse(node)))
    return found


def test_no_access_decision_is_made_outside_the_policy_module() -> None:
    offences = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for layer in LAYERS
        for path in sorted((ROOT / layer).rglob("*.py"))
        if POLICY not in path.parents and path not in NOT_DECIDING
        for line, what in access_decisions(path.read_text())
    ]
    assert not offences, "access decided outside resolvers/policy/:\n" + "\n".join(offences)


def test_the_lint_finds_what_it_is_for() -> None:
    """The lint itself: each kind of check written outside the policy is found; building data
    with roles, or comparing other things, is not."""
    assert [line for line, _ in access_decisions("if not viewer.is_staff:\n    pass\n")] == [1]
    assert access_decisions("ok = viewer.is_admin or mine")
    assert access_decisions("if member.role is Role.MODERATOR: pass")
    assert access_decisions("q = q.where(CommunityMember.role == CommunityRole.MODERATOR)")
    assert access_decisions("if access.host_role is not WebinarHostRole.ORGANISER: pass")
    assert not access_decisions("row = CommunityMember(role=CommunityRole.MODERATOR)")
    assert not access_decisions("if member.role is not role: changed = True")
    assert not access_decisions("scope = (viewer.role, role)")
    assert not access_decisions("if status is WebinarStatus.LIVE: pass")


# --- one way to write a mutation -------------------------------------------------------------

TRANSACTION = re.compile(r"\bunit_of_work\(|\bsessions\.begin\(\)|except IntegrityError")
# Writes that are not a client's mutation, each for its reason.
NOT_MUTATIONS = {
    ROOT / "resolvers" / "unit_of_work.py": "the helper itself",
    ROOT / "resolvers" / "webinar_reminders.py": "the reminder job, run by the server",
    ROOT / "resolvers" / "outbox.py": "the outbox's claims and outcomes, by its workers",
    ROOT / "resolvers" / "digests.py": "digests written once a period, by the outbox's workers",
    ROOT / "resolvers" / "topic_fanout.py": "a fan-out job's batches, written by the outbox's "
    "workers",
    ROOT / "resolvers" / "push_deliveries.py": "a subscription its push service says is gone, "
    "removed by the outbox's workers",
    ROOT / "resolvers" / "auth.py": "registration's attempt counter, kept before the mutation",
}


def hand_written_transactions(source: str) -> list[int]:
    return [n for n, line in enumerate(source.splitlines(), 1) if TRANSACTION.search(line)]


def test_every_mutation_goes_through_the_one_helper() -> None:
    """Sign-in, the transaction, refusals, integrity conflicts and events after commit are
    written once (resolvers/unit_of_work.mutation); a resolver opening its own transaction,
    or catching integrity errors itself, is found here."""
    offences = [
        f"{path.relative_to(ROOT)}:{line}"
        for layer in ("resolvers", "schema")
        for path in sorted((ROOT / layer).rglob("*.py"))
        if path not in NOT_MUTATIONS
        for line in hand_written_transactions(path.read_text())
    ]
    assert not offences, "transactions written by hand:\n" + "\n".join(offences)
    auth = (ROOT / "resolvers" / "auth.py").read_text()
    assert len(hand_written_transactions(auth)) == 1  # the counter, nothing more


def test_the_mutation_lint_finds_what_it_is_for() -> None:
    assert hand_written_transactions("    async with unit_of_work(sessions, events) as work:")
    assert hand_written_transactions("async with sessions.begin() as session:")
    assert hand_written_transactions("    except IntegrityError:")
    assert not hand_written_transactions("async with sessions() as session:")
    assert not hand_written_transactions("done = await mutation(sessions, events, viewer, change)")

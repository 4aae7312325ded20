"""Demo data and account creation for the command line (`hub seed --demo`, `hub create-member`),
one module per domain of the demo."""

from app.seed.accounts import MemberCreationError, create_member_account
from app.seed.demo import DEMO_PASSWORD, DemoSummary, seed_demo
from app.seed.discussions import DEMO_COMMUNITIES
from app.seed.knowledge import seed_knowledge

__all__ = [
    "DEMO_COMMUNITIES",
    "DEMO_PASSWORD",
    "DemoSummary",
    "MemberCreationError",
    "create_member_account",
    "seed_demo",
    "seed_knowledge",
]

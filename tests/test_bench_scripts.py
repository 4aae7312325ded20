"""Every script in bench/ still imports: a helper renamed or removed in one script breaks
another only when someone runs it, months later (cached_page.py lost `harness.table_row` so)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture
def bench_on_path() -> Iterator[None]:
    sys.path.insert(0, str(BENCH))  # the scripts import each other by name, as when run
    try:
        yield
    finally:
        sys.path.remove(str(BENCH))


@pytest.mark.parametrize("script", sorted(p.stem for p in BENCH.glob("*.py")))
@pytest.mark.usefixtures("bench_on_path")
def test_the_bench_script_imports(script: str) -> None:
    module = importlib.import_module(script)
    assert module.__file__ is not None
    assert Path(module.__file__).parent == BENCH

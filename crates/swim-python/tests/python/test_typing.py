"""Typing: the installed package (py.typed, the extension's stub) passes mypy --strict
with the seed README's snippets as an application types them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import PYTHON, required

HERE = Path(__file__).parent / 'typed_snippets'


def mypy(path: Path) -> subprocess.CompletedProcess[str]:
    try:
        import mypy  # noqa: F401
    except ImportError:
        if required('SWIM_REQUIRE_PYTHON_WHEEL'):
            pytest.fail('SWIM_REQUIRE_PYTHON_WHEEL=1 but mypy is not installed')
        pytest.skip('mypy is not installed')
    return subprocess.run(
        [PYTHON, '-m', 'mypy', '--strict', '--no-incremental', str(path)],
        capture_output=True, text=True, timeout=300, cwd=HERE)


def test_the_seed_snippets_pass_mypy_strict() -> None:
    done = mypy(HERE / 'seed_snippets.py')
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_seed_readme_slip_is_caught() -> None:
    done = mypy(HERE / 'seed_slip.py')
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'enter_context' in done.stdout and 'AbstractContextManager' in done.stdout, \
        done.stdout

"""The types (pyproject.toml's [tool.mypy], run by `make lint`): a copy of the code with a type error is refused,
as CI would refuse it; services and selectors must be annotated, the other modules need not be."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# No database here, but the suite's autouse fixtures (conftest.py) reach it: run alone, this file still works.
pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
MYPY = Path(sys.executable).parent / "mypy"


def mypy(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        [str(MYPY), "--config-file", str(tree / "pyproject.toml")],
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def tree(tmp_path) -> Path:
    """A copy of the apps, the settings the django-stubs plugin reads and the configuration, to add a line to. The
    checkout's mypy cache comes along when there is one (`make test` has just made it): only the changed module is
    checked again, in seconds instead of a cold run's twenty or so."""
    ignore = shutil.ignore_patterns("__pycache__")
    for folder in ("apps", "config"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    if (ROOT / ".mypy_cache").is_dir():
        shutil.copytree(ROOT / ".mypy_cache", tmp_path / ".mypy_cache")
    return tmp_path


def add_line(path: Path, line: str) -> None:
    path.write_text(path.read_text() + "\n" + line + "\n")


def test_a_type_error_fails_the_lint_and_services_must_be_annotated(tree):
    # given a copy of the code with lines that break the types (one mypy run for all: each takes seconds)
    add_line(tree / "apps/patients/views.py", "def _label() -> int:\n    return 'a label'")
    add_line(tree / "apps/patients/services.py", "def patient_label(patient):\n    return str(patient)")
    add_line(tree / "apps/pages/audit/selectors.py", "def audit_rows() -> list:\n    return []")
    # and an untyped function outside the services and selectors, which the baseline lets through
    add_line(tree / "apps/patients/forms.py", "def _label(patient):\n    return str(patient)")

    # when
    result = mypy(tree)

    # then
    assert result.returncode != 0
    errors = {
        (line.split(":")[0], line.rsplit(" ", 1)[-1]) for line in result.stdout.splitlines() if ": error:" in line
    }
    assert errors == {
        ("apps/patients/views.py", "[return-value]"),
        ("apps/patients/services.py", "[no-untyped-def]"),
        ("apps/pages/audit/selectors.py", "[type-arg]"),
    }, result.stdout + result.stderr

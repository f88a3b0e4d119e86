"""The apps' layers (pyproject.toml's import-linter contracts, run by `make lint`): a copy of the code with one
import added that breaks them is refused, as CI would refuse it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# No database here, but the suite's autouse fixtures (conftest.py) reach it: run alone, this file still works.
pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        [str(LINT_IMPORTS), "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def tree(tmp_path) -> Path:
    """A copy of the apps and of the contracts, to add an import to."""
    shutil.copytree(ROOT / "apps", tmp_path / "apps", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_line(path: Path, line: str) -> None:
    path.write_text(path.read_text() + "\n" + line + "\n")


def test_the_code_as_it_is_keeps_the_layers(tree):
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "refused"),
    [
        pytest.param(
            "apps/patients/views.py",
            "from apps.reminders.selectors import messages_for_patient  # noqa",
            "apps.patients is not allowed to import apps.reminders",
            id="clinical-record-imports-a-reader",
        ),
        pytest.param(
            "apps/clinic/rules.py",
            "from apps.patients.models import Patient  # noqa",
            "apps.clinic is not allowed to import apps.patients",
            id="base-imports-a-clinical-app",
        ),
        pytest.param(
            "apps/audit/services.py",
            "from apps.accounts.roles import CONFIGURE  # noqa",
            "apps.audit is not allowed to import apps.accounts",
            id="audit-imports-accounts",
        ),
        pytest.param(
            "apps/surveys/services.py",
            "def _dodge():\n    from apps.reminders.services import sweep  # noqa",
            "apps.surveys is not allowed to import apps.reminders",
            id="upward-import-inside-a-function",
        ),
        pytest.param(
            "apps/reports/services.py",
            "def _enqueue():\n    from apps.reports.tasks import report_run_build  # noqa",
            "No cycles are allowed in apps.reports",
            id="cycle-between-modules-of-an-app",
        ),
    ],
)
def test_an_upward_import_or_a_cycle_fails_the_lint(tree, module, line, refused):
    # given a copy of the code with one import that points the wrong way
    add_line(tree / module, line)

    # when
    result = lint_imports(tree)

    # then
    assert result.returncode != 0
    assert refused in " ".join(result.stdout.split())

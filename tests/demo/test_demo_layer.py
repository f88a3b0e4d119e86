"""apps.demo is the top layer: it may import every app, and no app may import it."""

from __future__ import annotations

import pytest

from tests.test_layers import add_line, lint_imports, tree  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


def test_an_app_importing_the_demo_fails_the_lint(tree):  # noqa: F811
    # given the API importing the demo data
    add_line(tree / "apps/api/views.py", "from apps.demo.generator import seed_demo  # noqa")

    # when
    result = lint_imports(tree)

    # then
    assert result.returncode != 0
    assert "apps.api is not allowed to import apps.demo" in " ".join(result.stdout.split())

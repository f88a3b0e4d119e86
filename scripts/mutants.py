"""Named mutants of the clinical rules' definitions: each is applied alone, the tests that should catch it run, and
the file is restored. Run before resolving an issue that touches a rule (`make mutants`); a mutant that survives is
a rule edge no test holds: add the test, or name the survivor and why in the issue's closing note.

    scripts/services.py exec -- python scripts/mutants.py [NAME-FRAGMENT ...]

A mutant of a migration (a SQL function or view) runs on a test database built with it (--create-db); the test
database is built again without mutants at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORTS = [
    "tests/reports/test_rule_edges.py",
    "tests/reports/test_definition_edges.py",
    "tests/reports/test_outcomes.py",
]
PAGES = ["tests/cryoablations", "tests/blocks"]
BLOCKS_SQL = "apps/blocks/migrations/0005_one_definition_of_the_block_rules.py"
REPORTS_SQL = "apps/reports/migrations/0005_one_definition_of_the_responder.py"


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    old: str
    new: str
    tests: list[str]

    @property
    def migration(self) -> bool:
        return "/migrations/" in self.path


MUTANTS = [
    Mutant("peak relief: the window's last minute left out", BLOCKS_SQL,
           "BETWEEN 0 AND (SELECT evaluation_window_minutes FROM clinic_protocol())",
           "BETWEEN 0 AND (SELECT evaluation_window_minutes FROM clinic_protocol()) - 1", REPORTS + ["tests/blocks"]),
    Mutant("positive block: > threshold", BLOCKS_SQL,
           "SELECT peak_relief >= threshold", "SELECT peak_relief > threshold", REPORTS + PAGES),
    Mutant("funnel: ablated stage > threshold", "apps/reports/sql.py",
           'count(*) FILTER (WHERE {positive("b.peak_relief_percent")} AND b.ablated)',
           'count(*) FILTER (WHERE b.peak_relief_percent > %(threshold)s AND b.ablated)', REPORTS),
    Mutant("qualifying block: the day after the ablation allowed", BLOCKS_SQL,
           "BETWEEN ablation_date - look_back_days AND ablation_date",
           "BETWEEN ablation_date - look_back_days AND ablation_date + 1", REPORTS + PAGES),
    Mutant("qualifying block: 179 days", BLOCKS_SQL,
           "BETWEEN ablation_date - look_back_days AND ablation_date",
           "BETWEEN ablation_date - look_back_days + 1 AND ablation_date", REPORTS + PAGES),
    Mutant("named block notes: days >= 180", "apps/cryoablations/selectors.py",
           "elif days > protocol.qualifying_block_days:", "elif days >= protocol.qualifying_block_days:", PAGES),
    Mutant("named block notes: days < -1", "apps/cryoablations/selectors.py",
           "if days < 0:", "if days < -1:", PAGES),
    Mutant("answers form: window end excluded", "apps/surveys/forms.py",
           "if not follow_up.window_start <= day <= follow_up.window_end:",
           "if not follow_up.window_start <= day < follow_up.window_end:", PAGES),
    Mutant("answers form: the UTC date", "apps/surveys/forms.py",
           "day = timezone.localdate(completed_at)",
           "day = completed_at.astimezone(timezone.get_fixed_timezone(0)).date()", PAGES),
    Mutant("intention to treat: interval over the evaluable", "apps/reports/outcomes.py",
           "return wilson_interval(self.responders, self.closed)",
           "return wilson_interval(self.responders, self.evaluable)", REPORTS),
    Mutant("closed: window_end <= as_of", "apps/reports/sql.py",
           "    x.window_end < %(as_of)s::date AS closed,", "    x.window_end <= %(as_of)s::date AS closed,", REPORTS),
    Mutant("answered (completion, pain): window_end <= as_of", "apps/reports/sql.py",
           "(x.window_end < %(as_of)s::date AND x.counted_response_id IS NOT NULL) AS answered",
           "(x.window_end <= %(as_of)s::date AND x.counted_response_id IS NOT NULL) AS answered", REPORTS),
    Mutant("responder: > percent", REPORTS_SQL,
           "THEN (baseline - score) * 10000 >= (percent * 100)::integer * baseline",
           "THEN (baseline - score) * 10000 > (percent * 100)::integer * baseline",
           REPORTS + ["tests/test_database_rules.py"]),
    Mutant("display: half to even", "apps/clinic/rules.py",
           "rounding=ROUND_HALF_UP)}{suffix}", "rounding=ROUND_HALF_EVEN)}{suffix}",
           ["tests/reports/test_rule_edges.py", "tests/reports/test_definition_edges.py"]),
]  # fmt: skip
# Names a mutant's text uses that its module does not import yet: (import line, import line with the name).
EXTRA_IMPORTS = {
    "ROUND_HALF_EVEN": ("from decimal import ROUND_HALF_UP,", "from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP,")
}


def pytest(args: list[str]) -> int:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}  # pyproject's test settings
    command = ["pytest", "-p", "no:cacheprovider", "-q", "-x", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False).returncode  # noqa: S603


def run(mutant: Mutant) -> bool:
    """Whether the tests caught the mutant."""
    path = ROOT / mutant.path
    original = path.read_text()
    if original.count(mutant.old) != 1:
        raise SystemExit(f"{mutant.name}: its text is no longer once in {mutant.path}; update the mutant")
    mutated = original.replace(mutant.old, mutant.new)
    for marker, (before, after) in EXTRA_IMPORTS.items():
        if marker in mutant.new:
            mutated = mutated.replace(before, after, 1)
    path.write_text(mutated)
    try:
        return pytest((["--create-db"] if mutant.migration else []) + mutant.tests) != 0
    finally:
        path.write_text(original)


def main(fragments: list[str]) -> int:
    chosen = [m for m in MUTANTS if not fragments or any(f in m.name for f in fragments)]
    # Code mutants first, on the database as built; then each migration mutant on a database built with it.
    chosen.sort(key=lambda m: m.migration)
    survivors = []
    for mutant in chosen:
        caught = run(mutant)
        print(f"{'caught  ' if caught else 'SURVIVED'}  {mutant.name}  ({mutant.path})", flush=True)
        if not caught:
            survivors.append(mutant.name)
    if any(m.migration for m in chosen):
        pytest(["--create-db", "tests/test_smoke.py"])
    print(f"{len(chosen) - len(survivors)} of {len(chosen)} mutants caught", flush=True)
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

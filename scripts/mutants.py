#!/usr/bin/env python3
"""make mutants: named mutants of the clinical and messaging rules; the tests must catch (kill) every one.

    .venv/bin/python scripts/mutants.py [NAME ...]     # all mutants, or those named (a prefix is enough)
    .venv/bin/python scripts/mutants.py --list

Each mutant replaces one exact snippet of one file and runs the tests named for it. The checkout is never edited:
the script copies it (without .git, .venv and .data) into a temporary folder, mutates the copy, runs pytest there
(the copy first on PYTHONPATH, with this checkout's .venv), puts the file back before the next mutant and deletes
the folder at the end, so an interrupted run leaves nothing behind.

The tests use their own servers: MUTANTS_DATABASE_URL (default the local PostgreSQL, database painreg_mutants; the
test database is test_painreg_mutants) and MUTANTS_REDIS_URL (default database 6 of the local Redis), never those
of `make test` or `make run`.

For each mutant it prints `killed` (its tests failed), `survived` (they passed: a test is missing), `snippet not
found` (the code moved on: update the mutant) or `error` (pytest could not run them). The exit status is 0 only
when every mutant was killed. First the named tests run on the unmutated copy: if they fail there, nothing a mutant
does can be told apart, and the script stops.

Run it before resolving an issue that touches a rule, and list the survivors in the closing note. To add a mutant,
add a line to MUTANTS: the snippet must occur exactly once in its file.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/painreg_mutants"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/6"
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", ".data", "__pycache__", ".ruff_cache", ".mypy_cache", ".pytest_cache", "node_modules"
)

REPORTS = "tests/reports --ignore=tests/reports/test_report_runs.py"  # not the slow worker test
QUALIFYING = " ".join(
    [
        "tests/cryoablations",
        "tests/registry",
        "tests/blocks",
        "tests/clinic/test_protocol.py",
        "tests/reports/test_definition_edges.py",
    ]
)
ANSWERS_FORM = "tests/cryoablations tests/surveys"
LINKS = "tests/surveys"
BLOCKS_SQL = "apps/blocks/migrations/0005_one_definition_of_the_block_rules.py"
REPORTS_SQL = "apps/reports/migrations/0005_one_definition_of_the_responder.py"
CELLS_SQL = "apps/reports/migrations/0015_cells.py"
STATES_SQL = "apps/reports/migrations/0016_durability_states.py"
REPEAT_SQL = "apps/cryoablations/migrations/0005_treatment_kinds_and_supersession.py"
REPEATS = " ".join(
    [
        "tests/cryoablations/test_kinds_and_repeats.py",
        "tests/reports/test_outcomes_v2.py",
        "tests/reports/test_registry_sample_v2.py",
    ]
)
RULE = "tests/reminders/test_rule.py tests/reminders/test_engine.py tests/reminders/test_views.py"


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str  # relative to the checkout
    original: str  # exact, once in the file
    mutant: str
    tests: str  # pytest arguments, space-separated


# One line per mutant: (name, file, original, replacement, tests).
MUTANTS = [
    Mutant(*m)
    for m in [
        # The rules' SQL definitions (migrations: run on a test database built with the mutant).
        ("peak-relief-window-last-minute", BLOCKS_SQL,
         "BETWEEN 0 AND (SELECT evaluation_window_minutes FROM clinic_protocol())",
         "BETWEEN 0 AND (SELECT evaluation_window_minutes FROM clinic_protocol()) - 1", REPORTS + " tests/blocks"),
        ("positive-block-above-threshold", BLOCKS_SQL,
         "SELECT peak_relief >= threshold", "SELECT peak_relief > threshold", REPORTS + " " + QUALIFYING),
        ("qualifying-day-after-allowed", BLOCKS_SQL,
         "BETWEEN ablation_date - look_back_days AND ablation_date",
         "BETWEEN ablation_date - look_back_days AND ablation_date + 1", REPORTS + " " + QUALIFYING),
        ("qualifying-179-days", BLOCKS_SQL,
         "BETWEEN ablation_date - look_back_days AND ablation_date",
         "BETWEEN ablation_date - look_back_days + 1 AND ablation_date", REPORTS + " " + QUALIFYING),
        ("responder-above-percent", REPORTS_SQL,
         "THEN (baseline - score) * 10000 >= (percent * 100)::integer * baseline",
         "THEN (baseline - score) * 10000 > (percent * 100)::integer * baseline",
         REPORTS + " tests/test_database_rules.py"),
        ("repeat-same-day-supersedes", REPEAT_SQL,
         "AND l.performed_on > t.performed_on", "AND l.performed_on >= t.performed_on AND l.id <> t.id", REPEATS),
        ("repeat-window-starting-on-repeat-day", REPEAT_SQL,
         "WHERE f.window_start > s.repeat_on", "WHERE f.window_start >= s.repeat_on", REPEATS),
        ("repeat-other-side-supersedes", REPEAT_SQL,
         "AND l.nerve_id = t.nerve_id AND l.side = t.side", "AND l.nerve_id = t.nerve_id", REPEATS),
        # The report's statements and figures (apps/reports).
        ("funnel-ablated-threshold", "apps/reports/sql.py",
         'count(*) FILTER (WHERE {positive("b.peak_relief_percent")} AND {_treated("b.block_id", "b.ablated")})',
         'count(*) FILTER (WHERE b.peak_relief_percent > %(threshold)s AND {_treated("b.block_id", "b.ablated")})',
         REPORTS),
        ("closed-includes-as-of", "apps/reports/sql.py",
         'return f"{alias}.window_end < %(as_of)s::date"', 'return f"{alias}.window_end <= %(as_of)s::date"', REPORTS),
        ("answered-includes-as-of", "apps/reports/sql.py",
         '({closed("x")} AND o.answered) AS answered', "(x.window_end <= %(as_of)s::date AND o.answered) AS answered",
         REPORTS),
        ("band-70-in-the-lowest", CELLS_SQL, "WHEN peak < 70 THEN 1", "WHEN peak <= 70 THEN 1", REPORTS),
        ("opioids-halved-strictly", CELLS_SQL, "SELECT (baseline - mme) * 100 >= 50 * baseline",
         "SELECT (baseline - mme) * 100 > 50 * baseline", "tests/reports/test_opioids.py"),
        ("cells-skip-updates", CELLS_SQL, '{self.insert(f"{new} UNION ALL {old}")}', "NULL;",
         "tests/reports/test_cells.py"),
        ("durability-event-after-repeat-kept", STATES_SQL, "CASE WHEN s.event AND s.day < s.repeat_day",
         "CASE WHEN s.event", REPORTS),
        ("durability-step-past-repeat", STATES_SQL, "least(s.valid_until, s.repeat_on) AS valid_until",
         "s.valid_until AS valid_until", "tests/reports/test_durability_states.py"),
        ("durability-states-skip-repeats", STATES_SQL,
         "        PERFORM reports_durability_states_refresh(ARRAY(SELECT ablation_id FROM new_rows));\n", "",
         "tests/reports/test_durability_states.py"),
        ("itt-interval-over-evaluable", "apps/reports/outcomes.py",
         "return wilson_interval(self.responders, self.closed)",
         "return wilson_interval(self.responders, self.evaluable)", REPORTS),
        ("display-half-even", "apps/clinic/rules.py",
         "rounding=ROUND_HALF_UP)}{suffix}", 'rounding="ROUND_HALF_EVEN")}{suffix}', REPORTS),
        # The qualifying block's notes on the ablation page (apps/cryoablations/selectors.py).
        ("named-block-180-days-inclusive", "apps/cryoablations/selectors.py",
         "elif days > protocol.qualifying_block_days:", "elif days >= protocol.qualifying_block_days:", QUALIFYING),
        ("named-block-day-after-allowed", "apps/cryoablations/selectors.py",
         "if days < 0:", "if days < -1:", QUALIFYING),
        # Staff's answers form (apps/surveys/forms.py): the window, in the clinic's dates.
        ("answers-form-window-end-excluded", "apps/surveys/forms.py",
         "follow_up.window_start <= day <= follow_up.window_end:",
         "follow_up.window_start <= day < follow_up.window_end:", ANSWERS_FORM),
        ("answers-form-utc-date", "apps/surveys/forms.py",
         "day = timezone.localdate(completed_at)",
         "day = timezone.localdate(completed_at, timezone.get_fixed_timezone(0))", ANSWERS_FORM),
        # Patients' links (apps/surveys).
        ("link-submit-ignores-expiry", "apps/surveys/services.py",
         "pk=link.pk, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now",
         "pk=link.pk, used_at__isnull=True, revoked_at__isnull=True", LINKS),
        ("link-open-at-expiry", "apps/surveys/selectors.py",
         "link.expires_at > now", "link.expires_at >= now", LINKS),
        ("link-follow-up-expiry-a-day-early", "apps/surveys/services.py",
         "next_day = follow_up.window_end + timedelta(days=1)", "next_day = follow_up.window_end", LINKS),
        # The messaging rule (apps/reminders/selectors.py): each stop never holding, or holding a day late.
        ("rule-inactive", "apps/reminders/selectors.py",
         'Q(**{f"{p}is_active": False})', "Q(pk__in=[])", RULE),
        ("rule-opted-out", "apps/reminders/selectors.py",
         'Q(**{f"{p}opted_out_at__isnull": False})', "Q(pk__in=[])", RULE),
        ("rule-no-consent", "apps/reminders/selectors.py",
         'Q(**{f"{p}reminder_consent": False})', "Q(pk__in=[])", RULE),
        ("rule-channel-phone-call", "apps/reminders/selectors.py",
         'Q(**{f"{p}preferred_channel": Channel.NONE})', "Q(pk__in=[])", RULE),
        ("rule-email-bounced", "apps/reminders/selectors.py",
         'Q(**{f"{p}preferred_channel": Channel.EMAIL, f"{p}email_undeliverable_at__isnull": False})',
         "Q(pk__in=[])", RULE),
        ("rule-mobile-refused", "apps/reminders/selectors.py",
         'Q(**{f"{p}preferred_channel": Channel.SMS, f"{p}phone_invalid_at__isnull": False})', "Q(pk__in=[])", RULE),
        ("rule-survey-completed", "apps/reminders/selectors.py",
         'Q(**{f"{f}counted_response__isnull": False})', "Q(pk__in=[])", RULE),
        ("rule-window-closed-a-day-late", "apps/reminders/selectors.py",
         'Q(**{f"{f}window_end__lt": today})',
         'Q(**{f"{f}window_end__lt": today.fromordinal(today.toordinal() - 1)})', RULE),
        ("rule-copy-link-for-inactive", "apps/reminders/selectors.py",
         'Stop("patient inactive", Q(**{f"{p}is_active": False}), by_phone=True)',
         'Stop("patient inactive", Q(**{f"{p}is_active": False}))', RULE),
        ("rule-copy-link-after-completion", "apps/reminders/selectors.py",
         'Stop("survey completed", Q(**{f"{f}counted_response__isnull": False}), by_phone=True)',
         'Stop("survey completed", Q(**{f"{f}counted_response__isnull": False}))', RULE),
        # Where the reminders ask the rule (apps/reminders/services.py).
        ("claim-skips-nothing", "apps/reminders/services.py",
         "        .filter(messageable_messages_q(today=timezone.localdate(now)))\n", "", RULE),
        ("send-claim-skips-nothing", "apps/reminders/services.py",
         "        messageable_messages_q(today=timezone.localdate(now)),\n        pk=message.pk,\n",
         "        pk=message.pk,\n", RULE),
        ("send-recheck-dropped", "apps/reminders/services.py",
         "            reason = message.stop\n", '            reason = ""\n', RULE),
        ("sweep-stops-nothing", "apps/reminders/services.py",
         ".exclude(messageable_messages_q(today=today))", ".filter(pk__in=[])", RULE),
        ("plan-ignores-the-rule", "apps/reminders/services.py",
         'messageable_q(patient="ablation__patient__", follow_up="", today=today),', "", RULE),
        ("diary-plan-ignores-the-rule", "apps/reminders/services.py",
         'messageable_q(patient="patient__"), performed_at__gte', "performed_at__gte", RULE),
        ("diary-answered-slot-sent", "apps/reminders/services.py",
         "if block.diary_entries.filter(minutes_after=minutes).exists():", "if False:", RULE),
        ("diary-passed-slot-sent", "apps/reminders/services.py",
         "    if now >= diary_slot_closes_at(block=block, minutes=minutes, slots=protocol.diary_minutes):",
         "    if now > diary_slot_closes_at(block=block, minutes=minutes, slots=protocol.diary_minutes) + DIARY_GRACE:",
         RULE),
        ("staff-send-before-window", "apps/reminders/services.py",
         'return "window not open yet" if timezone.localdate(now) < follow_up.window_start else ""',
         'return "window not open yet" if timezone.localdate(now) < follow_up.window_start - timedelta(days=1) else ""',
         RULE),
    ]
]  # fmt: skip


def pytest_run(copy: Path, tests: str, env: dict[str, str], *extra: str) -> int:
    command = [str(ROOT / ".venv/bin/python"), "-m", "pytest", "-p", "no:cacheprovider", "-x", "-q", *extra]
    result = subprocess.run(  # noqa: S603 - this checkout's own interpreter
        [*command, *tests.split()], cwd=copy, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    if result.returncode not in (0, 1):
        print(result.stdout[-3000:])
    return result.returncode


def mutant_run(mutant: Mutant, copy: Path, env: dict[str, str]) -> str:
    target = copy / mutant.path
    if not target.exists():
        return "snippet not found (no such file)"
    original = target.read_text()
    found = original.count(mutant.original)
    if found != 1:
        return "snippet not found" if not found else f"snippet not found once but {found} times"
    target.write_text(original.replace(mutant.original, mutant.mutant))
    try:
        # A mutant of a migration (a SQL function or view) needs a test database built with it.
        status = pytest_run(copy, mutant.tests, env, *(["--create-db"] if "/migrations/" in mutant.path else []))
    finally:
        target.write_text(original)
        if "/migrations/" in mutant.path:  # the next mutant's database is built without this one
            pytest_run(copy, "tests/test_smoke.py", env, "--create-db")
    return {0: "survived", 1: "killed"}.get(status, f"error (pytest exit status {status})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="run only the mutants whose name starts with one of these")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if not args.names or any(m.name.startswith(n) for n in args.names)]
    if args.list or not chosen:
        for m in MUTANTS:
            print(f"{m.name:40} {m.path:36} {m.tests}")
        return 0 if args.list else 2
    # Stopped with SIGTERM as with Ctrl-C: the temporary copy is deleted either way.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["DATABASE_URL"] = os.environ.get("MUTANTS_DATABASE_URL", DEFAULT_DATABASE_URL)
    env["REDIS_URL"] = os.environ.get("MUTANTS_REDIS_URL", DEFAULT_REDIS_URL)
    with tempfile.TemporaryDirectory(prefix="painreg-mutants-") as folder:
        copy = Path(folder) / "checkout"
        shutil.copytree(ROOT, copy, ignore=NOT_COPIED)
        env["PYTHONPATH"] = str(copy)
        tests = " ".join(dict.fromkeys(t for m in chosen for t in m.tests.split()))  # each once, in order
        print(f"the mutants' tests on the unmutated code ({env['DATABASE_URL']}, {env['REDIS_URL']}): {tests}")
        if pytest_run(copy, tests, env, "--create-db") != 0:
            print("they fail without any mutant: fix them first")
            return 2
        outcomes = {}
        for mutant in chosen:
            outcomes[mutant.name] = outcome = mutant_run(mutant, copy, env)
            print(f"{mutant.name:40} {outcome}", flush=True)
    alive = {name: outcome for name, outcome in outcomes.items() if outcome != "killed"}
    print(f"{len(outcomes) - len(alive)} of {len(outcomes)} mutants killed", end="")
    print(": " + ", ".join(f"{name} ({outcome})" for name, outcome in alive.items()) if alive else "")
    return 1 if alive else 0


if __name__ == "__main__":
    sys.exit(main())

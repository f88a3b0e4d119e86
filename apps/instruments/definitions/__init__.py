"""An instrument's definition: what a definition file holds (docs/instrument-format.md), checked and scored.

A definition is plain data (a dict read from JSON): its items with their texts per language and answer values, the
scoring (a sum, a mean, or a raw sum looked up in a T-score table with its standard error), the fewest items needed
for a score, which direction is better, the minimal important change and the responder rule. `definition_problems`
lists everything wrong with one, each with its place in the file; `Definition` reads a checked one; `score` is the
one scoring rule of the project (every way in records answers through apps.instruments.services, which calls it).

The shipped definitions (peg3.json, phq2.json, gad2.json beside this module) are loaded by migration 0002.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

SHIPPED_DIR = Path(__file__).parent
SHIPPED_CODES = ("peg3", "phq2", "gad2")

# The languages a patient may be asked in (apps.patients.models.Language); English is always required.
LANGUAGES = ("en", "es")
SCORING_METHODS = ("sum", "mean", "t_score")
BETTER = ("lower", "higher")
# Responder rules (outcome-definitions.md, "Instruments beyond pain intensity"): a reduction of at least `percent` of
# a baseline above 0 (PEG-3), positive at baseline and negative now (PHQ-2, GAD-2), or a change of at least the
# minimal important change in the better direction (a loaded instrument).
RESPONDER_RULES = ("percent_reduction", "screen_negative", "minimal_important_change")
BASELINE = "baseline"


def shipped_definition(code: str) -> dict[str, Any]:
    return json.loads((SHIPPED_DIR / f"{code}.json").read_text(encoding="utf-8"))


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


class _Problems:
    def __init__(self) -> None:
        self.found: list[str] = []

    def add(self, place: str, message: str) -> None:
        self.found.append(f"{place}: {message}")


def _check_texts(problems: _Problems, place: str, texts: Any, languages: list[str]) -> None:
    if not isinstance(texts, dict):
        problems.add(place, "missing" if texts is None else "must be an object of texts by language")
        return
    for language in languages:
        text = texts.get(language)
        if text is None:
            problems.add(f"{place}.{language}", "missing")
        elif not isinstance(text, str) or not text.strip():
            problems.add(f"{place}.{language}", "must be a text that is not empty")
    for language in texts:
        if language not in languages:
            problems.add(f"{place}.{language}", "a language the definition does not list in `languages`")


def definition_problems(data: Any) -> list[str]:  # noqa: C901, PLR0912, PLR0915 — one pass over the whole file
    """Every problem of a definition, each as `place: message` (`items[2].texts.es: missing`); none when valid."""
    problems = _Problems()
    if not isinstance(data, dict):
        return ["(file): must be a JSON object"]
    code = data.get("code")
    if not isinstance(code, str) or not code or not code.replace("_", "").replace("-", "").isalnum() or len(code) > 20:
        problems.add("code", "must be a short code of letters, digits, - or _ (at most 20)")
    elif code != code.lower():
        problems.add("code", "must be lower case")
    if not isinstance(data.get("name"), str) or not data["name"].strip():
        problems.add("name", "missing")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        problems.add("version", "must be a whole number from 1")
    languages = data.get("languages")
    if not isinstance(languages, list) or "en" not in languages:
        problems.add("languages", "must list the languages of the texts, English (en) among them")
        languages = ["en"]
    else:
        for i, language in enumerate(languages):
            if language not in LANGUAGES:
                problems.add(f"languages[{i}]", f"unknown language {language!r} (known: {', '.join(LANGUAGES)})")
        languages = [language for language in languages if language in LANGUAGES]
    time_points = data.get("time_points", [])
    if not isinstance(time_points, list) or not all(isinstance(t, str) and t for t in time_points):
        problems.add("time_points", "must be a list of time point codes (baseline, 3m, ...)")
    if "instructions" in data:
        _check_texts(problems, "instructions", data["instructions"], languages)

    items = data.get("items")
    item_ids: list[str] = []
    before_items = len(problems.found)
    if not isinstance(items, list) or not items:
        problems.add("items", "must be a list of at least one item")
        items = []
    for i, item in enumerate(items):
        place = f"items[{i}]"
        if not isinstance(item, dict):
            problems.add(place, "must be an object")
            continue
        item_id = item.get("id")
        if not isinstance(item_id, str) or not item_id:
            problems.add(f"{place}.id", "missing")
        elif item_id in item_ids:
            problems.add(f"{place}.id", f"{item_id!r} is already the id of another item")
        else:
            item_ids.append(item_id)
        _check_texts(problems, f"{place}.texts", item.get("texts"), languages)
        answers = item.get("answers")
        if not isinstance(answers, list) or len(answers) < 2:
            problems.add(f"{place}.answers", "must list at least two answer values")
            continue
        values: list[int] = []
        for j, answer in enumerate(answers):
            answer_place = f"{place}.answers[{j}]"
            if not isinstance(answer, dict):
                problems.add(answer_place, "must be an object")
                continue
            value = answer.get("value")
            if isinstance(value, bool) or not isinstance(value, int):
                problems.add(f"{answer_place}.value", "must be a whole number")
            elif value in values:
                problems.add(f"{answer_place}.value", f"{value} is already another answer's value")
            else:
                values.append(value)
            if "texts" in answer:
                _check_texts(problems, f"{answer_place}.texts", answer["texts"], languages)

    # The table's rows are checked against the items' answers only when those are readable.
    answers_readable = bool(items) and not any(
        ".answers" in p or p.startswith(("items:", "items[")) and p.endswith("must be an object")
        for p in problems.found[before_items:]
    )
    scoring = data.get("scoring")
    if not isinstance(scoring, dict):
        problems.add("scoring", "missing")
        return problems.found
    method = scoring.get("method")
    if method not in SCORING_METHODS:
        problems.add("scoring.method", f"must be one of {', '.join(SCORING_METHODS)}")
    min_items = scoring.get("min_items")
    if isinstance(min_items, bool) or not isinstance(min_items, int) or not 1 <= min_items <= max(len(items), 1):
        problems.add("scoring.min_items", f"must be a whole number from 1 to the number of items ({len(items)})")
    if scoring.get("better") not in BETTER:
        problems.add("scoring.better", "must be lower or higher")
    if "minimal_important_change" in scoring:
        mic = _number(scoring["minimal_important_change"])
        if mic is None or mic <= 0:
            problems.add("scoring.minimal_important_change", "must be a number above 0")
    if "positive_screen" in scoring:
        cutoff = _number(scoring["positive_screen"])
        if cutoff is None:
            problems.add("scoring.positive_screen", "must be a number (the lowest score that screens positive)")
    if "score_code" in scoring:
        score_code = scoring["score_code"]
        if not isinstance(score_code, dict):
            problems.add("scoring.score_code", "must be an object with system, code and display")
        else:
            for key in ("system", "code", "display"):
                if not isinstance(score_code.get(key), str) or not score_code[key].strip():
                    problems.add(f"scoring.score_code.{key}", "missing")
    if method == "t_score":
        table = scoring.get("table")
        if not isinstance(table, list) or not table:
            problems.add("scoring.table", "missing: a T-score table lists every raw sum with its T-score and SE")
        else:
            raws: list[int] = []
            for k, row in enumerate(table):
                row_place = f"scoring.table[{k}]"
                if not isinstance(row, dict):
                    problems.add(row_place, "must be an object with raw, t and se")
                    continue
                raw = row.get("raw")
                if isinstance(raw, bool) or not isinstance(raw, int):
                    problems.add(f"{row_place}.raw", "must be a whole number")
                elif raw in raws:
                    problems.add(f"{row_place}.raw", f"{raw} is already in the table")
                else:
                    raws.append(raw)
                if _number(row.get("t")) is None:
                    problems.add(f"{row_place}.t", "must be a number")
                se = _number(row.get("se"))
                if se is None or se < 0:
                    problems.add(f"{row_place}.se", "must be a number, 0 or more")
            if raws and answers_readable:
                lowest, highest = _raw_range(items)
                missing = sorted(set(range(lowest, highest + 1)) - set(raws))
                if missing:
                    problems.add("scoring.table", f"no row for raw sum {', '.join(map(str, missing[:10]))}")
    elif "table" in scoring:
        problems.add("scoring.table", "only a t_score scoring has a table")
    responder = scoring.get("responder")
    if not isinstance(responder, dict) or responder.get("rule") not in RESPONDER_RULES:
        problems.add("scoring.responder.rule", f"must be one of {', '.join(RESPONDER_RULES)}")
    else:
        rule = responder["rule"]
        if rule == "percent_reduction":
            percent = _number(responder.get("percent"))
            if percent is None or not 0 < percent <= 100:
                problems.add("scoring.responder.percent", "must be a number above 0, at most 100")
            if scoring.get("better") == "higher":
                problems.add("scoring.responder.rule", "a percent reduction needs a score where lower is better")
        elif rule == "screen_negative" and "positive_screen" not in scoring:
            problems.add("scoring.positive_screen", "missing: the screen_negative rule needs it")
        elif rule == "minimal_important_change" and "minimal_important_change" not in scoring:
            problems.add("scoring.minimal_important_change", "missing: the minimal_important_change rule needs it")
    return problems.found


def _raw_range(items: list[dict[str, Any]]) -> tuple[int, int]:
    lowest = sum(min(a["value"] for a in item["answers"]) for item in items)
    highest = sum(max(a["value"] for a in item["answers"]) for item in items)
    return lowest, highest


@dataclass(frozen=True)
class Score:
    """A score as an exact fraction `total / items`: the mean's sum of answers and their number, a sum's total over
    1, a T-score over 1 with its standard error. Kept as two numbers so comparisons stay exact (a PEG-3 of 7/3)."""

    total: Decimal
    items: int
    standard_error: Decimal | None = None

    @property
    def value(self) -> Fraction:
        return Fraction(self.total) / self.items


class ScoringError(ValueError):
    """Answers that cannot be scored: {field: message}, the field `answers.<item id>` or `answers`."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class Definition:
    """A checked definition (definition_problems found nothing), read."""

    def __init__(self, data: dict[str, Any]):
        self.data = data

    @property
    def code(self) -> str:
        return self.data["code"]

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def version(self) -> int:
        return self.data["version"]

    @property
    def languages(self) -> list[str]:
        return list(self.data["languages"])

    @property
    def items(self) -> list[dict[str, Any]]:
        return self.data["items"]

    @property
    def item_ids(self) -> list[str]:
        return [item["id"] for item in self.items]

    @property
    def scoring(self) -> dict[str, Any]:
        return self.data["scoring"]

    @property
    def time_points(self) -> list[str]:
        return list(self.data.get("time_points", []))

    @property
    def score_code(self) -> dict[str, str] | None:
        """The score's code in a terminology (LOINC) when one exists for it: {system, code, display}."""
        return self.scoring.get("score_code")

    @property
    def score_range(self) -> tuple[Decimal, Decimal]:
        """The lowest and highest score the scoring can give: a sum's and a mean's from the answer values, a
        T-score's from its table (a chart's scale)."""
        scoring = self.scoring
        if scoring["method"] == "t_score":
            t_scores = [Decimal(str(row["t"])) for row in scoring["table"]]
            return min(t_scores), max(t_scores)
        lowest, highest = _raw_range(self.items)
        if scoring["method"] == "mean":
            lowest_item = min(min(a["value"] for a in item["answers"]) for item in self.items)
            highest_item = max(max(a["value"] for a in item["answers"]) for item in self.items)
            return Decimal(lowest_item), Decimal(highest_item)
        return Decimal(lowest), Decimal(highest)

    def columns(self) -> dict[str, Any]:
        """The scoring rules the report's SQL reads, as InstrumentVersion's columns."""
        scoring = self.scoring
        responder = scoring["responder"]

        def decimal_or_none(value: Any) -> Decimal | None:
            return None if value is None else Decimal(str(value))

        return {
            "scoring_method": scoring["method"],
            "min_items": scoring["min_items"],
            "better": scoring["better"],
            "minimal_important_change": decimal_or_none(scoring.get("minimal_important_change")),
            "positive_screen": decimal_or_none(scoring.get("positive_screen")),
            "responder_rule": responder["rule"],
            "responder_percent": decimal_or_none(responder.get("percent")),
            "languages": self.languages,
        }

    def score(self, answers: dict[str, int]) -> Score:
        """The score of `answers` ({item id: value}), or ScoringError naming every item out of range or missing."""
        errors: dict[str, str] = {}
        for item_id in answers:
            if item_id not in self.item_ids:
                errors[f"answers.{item_id}"] = f"{self.name} has no item {item_id}."
        given: dict[str, int] = {}
        for item in self.items:
            value = answers.get(item["id"])
            if value is None:
                continue
            allowed = [a["value"] for a in item["answers"]]
            if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
                errors[f"answers.{item['id']}"] = (
                    f"{value!r} is not an answer of item {item['id']} ({min(allowed)} to {max(allowed)})."
                )
            else:
                given[item["id"]] = value
        min_items = self.scoring["min_items"]
        if not errors and len(given) < min_items:
            missing = [item_id for item_id in self.item_ids if item_id not in given]
            needed = "every item" if min_items == len(self.items) else f"at least {min_items} items"
            for item_id in missing:
                errors[f"answers.{item_id}"] = f"Missing: {self.name} needs {needed} answered for a score."
        if errors:
            raise ScoringError(errors)
        total = sum(given.values())
        method = self.scoring["method"]
        if method == "mean":
            return Score(total=Decimal(total), items=len(given))
        if method == "sum":
            return Score(total=Decimal(total), items=1)
        # A raw sum with items left out is prorated to all items (rounded half up) before the table is read.
        raw = Fraction(total * len(self.items), len(given))
        raw_int = int(raw + Fraction(1, 2))
        row = next(r for r in self.scoring["table"] if r["raw"] == raw_int)
        return Score(total=Decimal(str(row["t"])), items=1, standard_error=Decimal(str(row["se"])))

    def texts(self, language: str) -> tuple[str, dict[str, Any]]:
        """(the language the texts are in, the items with their texts and answer labels in it): the patient's own
        language when the definition has it, else English (a validated instrument is never translated by us)."""
        shown = language if language in self.languages else "en"

        def pick(texts: dict[str, str] | None) -> str:
            return (texts or {}).get(shown, "")

        return shown, {
            "instructions": pick(self.data.get("instructions")),
            "items": [
                {
                    "id": item["id"],
                    "text": pick(item["texts"]),
                    "answers": [{"value": a["value"], "label": pick(a.get("texts"))} for a in item["answers"]],
                }
                for item in self.items
            ],
        }

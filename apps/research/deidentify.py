"""The de-identification rules of the research export (README: "Research export"), one place each: ages pooled
over 89, age bands and their generalisation, and the k-anonymity check on the quasi-identifiers.

Pure functions over plain values: apps.research.services feeds them what it read and writes what they return."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

OLDEST_AGE = 89  # Safe Harbor §164.514(b)(2)(i)(C): ages over 89 are pooled into one category
POOLED_AGE = "90+"
ALL_AGES = "all"
# The age band widths tried in turn, narrowest first; after the last, the age is left out ("all").
BAND_WIDTHS = (5, 10, 20)
# Generalise while the suppression the narrower bands would need is above this share of the patients: wider bands
# lose some detail for everyone, suppression loses every detail of a few.
MAX_SUPPRESSED_SHARE = 0.05


def age_on(date_of_birth: date, day: date) -> int:
    """Whole years completed on `day`."""
    return day.year - date_of_birth.year - ((day.month, day.day) < (date_of_birth.month, date_of_birth.day))


def age_band(age: int, width: int | None) -> str:
    """ "40-44" for width 5; over 89 always "90+" (never a band reaching past 89); width None: "all"."""
    if width is None:
        return ALL_AGES
    if age > OLDEST_AGE:
        return POOLED_AGE
    low = age // width * width
    return f"{low}-{min(low + width - 1, OLDEST_AGE)}"


@dataclass(frozen=True)
class QuasiIdentifiers:
    """What a patient's row says about them that could be matched against other data: the k-anonymity check's
    columns. A new quasi-identifier is a field here and a column of patients.csv."""

    age: int
    sex: str
    site: str


@dataclass
class Anonymised:
    """The outcome of the check: each kept patient's age band, who is suppressed, and what was done, in counts."""

    k: int
    band_width: int | None
    bands: dict[int, str]  # patient index -> age band
    suppressed: set[int] = field(default_factory=set)
    classes: int = 0
    smallest_class: int = 0
    # (band width or "all", patients in classes under k) for every level tried
    tried: list[tuple[str, int]] = field(default_factory=list)


def _classes(people: Sequence[QuasiIdentifiers], width: int | None) -> tuple[list[str], Counter[tuple[str, ...]]]:
    bands = [age_band(p.age, width) for p in people]
    return bands, Counter((band, p.sex, p.site) for band, p in zip(bands, people, strict=True))


def k_anonymise(people: Sequence[QuasiIdentifiers], *, k: int) -> Anonymised:
    """Generalise the age band (5, 10, 20 years, then none) until at most MAX_SUPPRESSED_SHARE of the patients sit
    in a combination of (age band, sex, site) with fewer than k patients (or, when no width gets there, to the width
    that leaves the fewest there), then suppress those: every combination left has at least k. Sex and site are
    never generalised (the site is the registry's unit of analysis)."""
    tried: list[tuple[str, int]] = []
    smalls: list[tuple[int, int | None]] = []
    for width in [*BAND_WIDTHS, None]:
        bands, counts = _classes(people, width)
        small = sum(n for n in counts.values() if n < k)
        tried.append((str(width) if width else ALL_AGES, small))
        smalls.append((small, width))
        if small <= MAX_SUPPRESSED_SHARE * len(people):
            break
    else:
        # No width gets suppression that low: the narrowest of those that suppress least (a wider band that
        # saves no one only loses detail).
        width = min(smalls, key=lambda pair: pair[0])[1]
        bands, counts = _classes(people, width)
    suppressed = {i for i, (band, p) in enumerate(zip(bands, people, strict=True)) if counts[(band, p.sex, p.site)] < k}
    kept = [n for n in counts.values() if n >= k]
    return Anonymised(
        k=k,
        band_width=width,
        bands={i: band for i, band in enumerate(bands) if i not in suppressed},
        suppressed=suppressed,
        classes=len(kept),
        smallest_class=min(kept, default=0),
        tried=tried,
    )


def study_ids(count: int, prefix: str) -> list[str]:
    """`count` distinct ids ("P0001"...) in a random order: the n-th record gets the n-th, so an id says nothing of
    the record's row id, its age or its order in the database, and means nothing outside this one export."""
    width = max(4, len(str(count)))
    ids = [f"{prefix}{n:0{width}d}" for n in range(1, count + 1)]
    secrets.SystemRandom().shuffle(ids)
    return ids

"""Reading a patient's SMS reply: a pain score, a keyword, or neither. Pure functions, no database."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from apps.clinic.rules import NRS_MAX, NRS_MIN

# Twilio's longest message (10 segments of 160 characters): anything longer is stored cut to this.
MAX_BODY_CHARS = 1600

# The numbers a patient may spell out, in English and Spanish (accents dropped before the lookup).
NUMBER_WORDS = {
    **dict.fromkeys(["zero", "cero"], 0),
    **dict.fromkeys(["one", "uno", "una"], 1),
    **dict.fromkeys(["two", "dos"], 2),
    **dict.fromkeys(["three", "tres"], 3),
    **dict.fromkeys(["four", "cuatro"], 4),
    **dict.fromkeys(["five", "cinco"], 5),
    **dict.fromkeys(["six", "seis"], 6),
    **dict.fromkeys(["seven", "siete"], 7),
    **dict.fromkeys(["eight", "ocho"], 8),
    **dict.fromkeys(["nine", "nueve"], 9),
    **dict.fromkeys(["ten", "diez"], 10),
}


class Keyword(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


# The whole message, one word (case, accents and trailing punctuation ignored), as carriers read them. English: the
# CTIA / Twilio list. Spanish: PARAR, PARA, ALTO, DETENER, CANCELAR, BAJA, SALIR, DESUSCRIBIR (opt out); ALTA,
# INICIAR, COMENZAR (opt in); AYUDA (help).
KEYWORDS = {
    **dict.fromkeys(
        ["stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout", "opt out"], Keyword.OPT_OUT
    ),
    **dict.fromkeys(
        ["parar", "para", "alto", "detener", "cancelar", "baja", "salir", "desuscribir", "darse de baja"],
        Keyword.OPT_OUT,
    ),
    **dict.fromkeys(["start", "unstop", "yes start", "alta", "iniciar", "comenzar"], Keyword.OPT_IN),
    **dict.fromkeys(["help", "info", "ayuda"], Keyword.HELP),
}


class Problem(StrEnum):
    UNCLEAR = "unclear"
    OUT_OF_RANGE = "out_of_range"


@dataclass(frozen=True)
class PainReply:
    """A reply read as a pain score: `value` 0..10, or None with the `problem`."""

    value: int | None
    problem: Problem | None = None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_SCORE = re.compile(r"^(?P<n>-?\d{1,3})(?:\s*(?:/|out of|de|sobre)\s*10)?$")


def body_clean(raw: str) -> tuple[str, bool]:
    """What a provider sent, as the registry stores it: without control characters (PostgreSQL's text holds no NUL
    byte, and binary junk shows as nothing useful), cut to MAX_BODY_CHARS. Returns (text, was it cut)."""
    text = _CONTROL.sub("", raw)
    return text[:MAX_BODY_CHARS], len(text) > MAX_BODY_CHARS


def _plain(text: str) -> str:
    """Lower case, accents dropped, spaces collapsed, surrounding punctuation and quotes stripped."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in decomposed if not unicodedata.combining(c))
    text = " ".join(text.split())
    return text.strip(" .!¡?¿,;:'\"“”‘’()[]")


def keyword_of(text: str) -> Keyword | None:
    """STOP, START, HELP and their kin, when they are the whole message."""
    return KEYWORDS.get(_plain(text))


def pain_reply_parse(text: str) -> PainReply:
    """ "7", " 7 ", "seven", "siete", "7/10", "7 out of 10" -> 7. A number outside 0..10 is out of range; anything
    else ("7 or 8", "better", an empty message) is unclear: it is never guessed at."""
    plain = _plain(text)
    if plain in NUMBER_WORDS:
        return PainReply(NUMBER_WORDS[plain])
    match = _SCORE.match(plain)
    if match is None:
        return PainReply(None, Problem.UNCLEAR)
    value = int(match["n"])
    if not NRS_MIN <= value <= NRS_MAX:
        return PainReply(None, Problem.OUT_OF_RANGE)
    return PainReply(value)

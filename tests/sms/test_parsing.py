from __future__ import annotations

import pytest

from apps.sms.parsing import MAX_BODY_CHARS, Keyword, PainReply, Problem, body_clean, keyword_of, pain_reply_parse


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("7", 7),
        (" 7 ", 7),
        ("seven", 7),
        ("siete", 7),
        ("7/10", 7),
        ("7 / 10", 7),
        ("Seven.", 7),
        ("0", 0),
        ("10", 10),
        ("diez", 10),
        ("cero", 0),
        ("7 out of 10", 7),
        ("3!", 3),
    ],
)
def test_a_pain_score_is_read_from_the_usual_ways_of_writing_it(text, value):
    assert pain_reply_parse(text) == PainReply(value)


@pytest.mark.parametrize("text", ["11", "-1", "100", "15/10"])
def test_a_number_outside_0_to_10_is_out_of_range(text):
    assert pain_reply_parse(text) == PainReply(None, Problem.OUT_OF_RANGE)


@pytest.mark.parametrize("text", ["", "7 or 8", "better", "7.5", "I'm fine thanks", "7 8", "\x00\x01"])
def test_anything_else_is_unclear_never_guessed(text):
    assert pain_reply_parse(text) == PainReply(None, Problem.UNCLEAR)


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("STOP", Keyword.OPT_OUT),
        ("stop", Keyword.OPT_OUT),
        (" Stop. ", Keyword.OPT_OUT),
        ("UNSUBSCRIBE", Keyword.OPT_OUT),
        ("STOPALL", Keyword.OPT_OUT),
        ("CANCEL", Keyword.OPT_OUT),
        ("END", Keyword.OPT_OUT),
        ("QUIT", Keyword.OPT_OUT),
        ("REVOKE", Keyword.OPT_OUT),
        ("OPTOUT", Keyword.OPT_OUT),
        ("PARAR", Keyword.OPT_OUT),
        ("Baja", Keyword.OPT_OUT),
        ("ALTO", Keyword.OPT_OUT),
        ("cancelar", Keyword.OPT_OUT),
        ("START", Keyword.OPT_IN),
        ("unstop", Keyword.OPT_IN),
        ("HELP", Keyword.HELP),
        ("ayuda", Keyword.HELP),
    ],
)
def test_keywords_are_the_whole_message_in_any_case(text, keyword):
    assert keyword_of(text) == keyword


def test_a_keyword_inside_a_sentence_is_not_one():
    assert keyword_of("please stop the pain") is None


def test_binary_junk_loses_its_control_characters_and_a_long_body_is_cut():
    text, cut = body_clean("7\x00\x07")
    assert (text, cut) == ("7", False)
    text, cut = body_clean("x" * 10_000)
    assert len(text) == MAX_BODY_CHARS and cut

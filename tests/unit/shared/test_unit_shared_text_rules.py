"""Issue 11, point 16: what the OpenAPI document publishes as a text field's `pattern` is the rule the
field applies (no NUL; not blank as str.strip() sees white space; the e-mail expression), so a
client, or a fuzzer, that follows the document is never refused, and one that breaks it always is."""
import re
import sys

import pytest
from marshmallow import Schema

from shared.contracts.schemas import (
    EMAIL_PATTERN,
    NO_NUL,
    NOT_BLANK,
    OPTIONAL_EMAIL_PATTERN,
    WHITE_SPACE,
    email,
    optional_text,
    required_text,
)


def test_the_white_space_class_is_exactly_what_strip_removes():
    spaces = re.compile(f"[{WHITE_SPACE}]")
    every = (chr(code) for code in range(sys.maxunicode + 1) if not 0xD800 <= code <= 0xDFFF)
    disagree = [hex(ord(char)) for char in every if bool(spaces.fullmatch(char)) != char.isspace()]
    assert disagree == []


class Fields(Schema):
    title = required_text(20)
    note = optional_text(20)
    address = email(required=True)
    maybe = email()


@pytest.mark.parametrize("value", ["x", " x ", "\x1ex\u3000", "a b"])
def test_what_the_pattern_allows_is_accepted(value):
    assert re.search(NOT_BLANK, value) and Fields().load({"title": value, "address": "a@b.co"})["title"]


@pytest.mark.parametrize("value", ["", " ", "\x1e", "\u3000\n", "x\x00"])
def test_what_the_pattern_refuses_is_refused(value):
    assert not re.search(NOT_BLANK, value)
    assert "title" in Fields().validate({"title": value, "address": "a@b.co"})


def test_optional_text_refuses_nul_only():
    assert re.search(NO_NUL, " ") and not re.search(NO_NUL, "a\x00")
    assert Fields().load({"title": "t", "address": "a@b.co", "note": " "})["note"] is None
    assert "note" in Fields().validate({"title": "t", "address": "a@b.co", "note": "a\x00"})


GOOD = ["kira@example.com", " Kira.N+tag@Sub.Example.co.uk ", "a!#$%&'*+/=?^_`{|}~-@x-y.io"]
BAD = ["", "kira", "kira@example", "a..b@example.com", ".a@example.com", "a@-x.com", "a@x-.com", "a b@x.com",
       "a@x.c", "a@@x.com", "kira@exämple.com", "a@localhost", "a@x.com\x00"]


@pytest.mark.parametrize("value", GOOD)
def test_the_email_pattern_and_the_field_accept_the_same(value):
    assert re.search(EMAIL_PATTERN, value) and re.search(OPTIONAL_EMAIL_PATTERN, value)
    assert Fields().validate({"title": "t", "address": value, "maybe": value}) == {}


@pytest.mark.parametrize("value", BAD)
def test_the_email_pattern_and_the_field_refuse_the_same(value):
    assert not re.search(EMAIL_PATTERN, value)
    assert "address" in Fields().validate({"title": "t", "address": value})
    # An optional address may be left blank (it becomes null); anything else is checked.
    blank = not value.strip()
    assert bool(re.search(OPTIONAL_EMAIL_PATTERN, value)) == blank
    assert ("maybe" in Fields().validate({"title": "t", "address": "a@b.co", "maybe": value})) != blank

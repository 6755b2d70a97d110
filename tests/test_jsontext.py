"""Squall reads JSON with orjson for speed; what it reads must be what json would have read."""

from __future__ import annotations

import json

import pytest

from backend.jsontext import dumps, loads

SAME_AS_JSON = [
    '{"a":12345678901234567890}',  # past 64 bits: orjson would read a float and lose digits
    '[-12345678901234567890123]',
    '[123456789012345678]',
    '[0.1, -0.0, 1.0, 5e-324, 1.7976931348623157e308]',
    '[1e400]',
    'NaN',
    '[Infinity, -Infinity]',
    '["\\ud800"]',  # a lone surrogate: orjson refuses it, json reads it
    '{"a":1,"a":2}',
    '"\\u00e9\\n"',
    '{"nested":' * 300 + '1' + '}' * 300,
]

NOT_JSON = ['\ufeff{}', '{"a":', '[1,]', "{'a':1}", '', '   ']


@pytest.mark.parametrize("text", SAME_AS_JSON)
def test_what_is_read_is_what_json_reads(text: str) -> None:
    expected = json.loads(text)
    assert repr(loads(text)) == repr(expected)
    assert repr(loads(text.encode("utf-8", "surrogatepass"))) == repr(json.loads(text.encode("utf-8", "surrogatepass")))


@pytest.mark.parametrize("text", NOT_JSON)
def test_what_json_refuses_is_refused_as_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        loads(text)


def test_written_text_reads_back_with_big_integers_and_unicode_intact() -> None:
    value = {"id": 2**70, "n": -(2**64), "name": "Grüße ✓", "list": [1.5, None, True]}
    assert loads(dumps(value)) == value

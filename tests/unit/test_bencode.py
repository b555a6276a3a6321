"""Bencode: round trips (hypothesis), key order, and strict errors with offsets."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.rtpengine.bencode import MAX_DEPTH, BencodeError, decode, encode

small_ints = st.integers(min_value=-(10**30), max_value=10**30)

bytes_values: st.SearchStrategy[Any] = st.recursive(
    st.binary(max_size=40) | small_ints,
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(st.binary(max_size=10), inner, max_size=5),
    max_leaves=30,
)

text_values: st.SearchStrategy[Any] = st.recursive(
    st.text(max_size=40) | small_ints,
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30,
)


@given(bytes_values)
def test_round_trip_of_byte_strings(value: Any) -> None:
    assert decode(encode(value), text=False) == value


@given(text_values)
def test_round_trip_of_text(value: Any) -> None:
    assert decode(encode(value)) == value


@given(bytes_values)
def test_every_truncation_is_refused_with_an_offset_inside_the_input(value: Any) -> None:
    data = encode(value)
    for end in range(len(data)):
        with pytest.raises(BencodeError) as caught:
            decode(data[:end], text=False)
        assert 0 <= caught.value.offset <= end


@given(bytes_values, st.binary(min_size=1, max_size=5))
def test_trailing_bytes_are_refused_at_the_end_of_the_value(value: Any, extra: bytes) -> None:
    data = encode(value)
    with pytest.raises(BencodeError) as caught:
        decode(data + extra, text=False)
    assert caught.value.offset == len(data)


def test_known_encodings() -> None:
    assert encode({"command": "ping"}) == b"d7:command4:pinge"
    assert encode([1, -2, b"\x00", "é"]) == b"li1ei-2e1:\x002:\xc3\xa9e"
    assert encode(0) == b"i0e"
    assert encode("") == b"0:"
    assert encode((1, 2)) == b"li1ei2ee"


def test_dict_keys_are_sorted_as_bytes_on_encode() -> None:
    assert encode({"b": 1, "a": 2, "B": 3, b"c": 4}) == b"d1:Bi3e1:ai2e1:bi1e1:ci4ee"


def test_unsorted_keys_from_rtpengine_are_accepted() -> None:
    assert decode(b"d6:result2:ok5:callsl1:xee") == {"result": "ok", "calls": ["x"]}


def test_text_mode_keeps_invalid_utf8_as_bytes() -> None:
    assert decode(b"l2:ok1:\xffe") == ["ok", b"\xff"]
    assert decode(b"l2:oke", text=False) == [b"ok"]


@pytest.mark.parametrize("value", [True, None, 1.5, {1: 2}, object(), {"a": [set()]}])
def test_unencodable_values_raise_type_error(value: Any) -> None:
    with pytest.raises(TypeError):
        encode(value)


def test_same_key_as_str_and_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="given twice"):
        encode({"a": 1, b"a": 2})


@pytest.mark.parametrize(
    ("data", "offset", "message"),
    [
        (b"", 0, "unexpected end"),
        (b"x", 0, "unexpected byte"),
        (b"-1:a", 0, "unexpected byte"),
        (b"i", 0, "unterminated integer"),
        (b"i12", 0, "unterminated integer"),
        (b"ie", 1, "bad integer"),
        (b"i-e", 1, "bad integer"),
        (b"i-0e", 1, "leading zero"),
        (b"i03e", 1, "leading zero"),
        (b"i1x2e", 1, "bad integer"),
        (b"i 1e", 1, "bad integer"),
        (b"3:ab", 0, "runs past the end"),
        (b"03:abc", 0, "leading zero"),
        (b"3abc", 0, "without ':'"),
        (b"l", 1, "missing 'e'"),
        (b"li1e", 4, "missing 'e'"),
        (b"d1:ae", 4, "without a value"),
        (b"di1e1:ae", 1, "key is not a string"),
        (b"dl1:ae1:be", 1, "key is not a string"),
        (b"d1:a1:b1:a1:ce", 7, "duplicate dictionary key"),
        (b"d1:\xff1:ae", 1, "key is not UTF-8"),
        (b"i1ei2e", 3, "trailing data"),
        (b"l1:ae ", 5, "trailing data"),
        (b"i" + b"9" * 5000 + b"e", 1, "too long"),
    ],
)
def test_malformed_input_raises_with_offset(data: bytes, offset: int, message: str) -> None:
    with pytest.raises(BencodeError, match=message) as caught:
        decode(data)
    assert caught.value.offset == offset
    assert f"at offset {offset}" in str(caught.value)


def test_nesting_beyond_the_limit_is_refused_not_a_crash() -> None:
    depth = MAX_DEPTH + 5
    with pytest.raises(BencodeError, match="nested deeper") as caught:
        decode(b"l" * depth + b"e" * depth)
    assert caught.value.offset == MAX_DEPTH + 1
    assert decode(b"l" * 10 + b"e" * 10) == [[[[[[[[[[]]]]]]]]]]


def test_decode_refuses_str_input() -> None:
    with pytest.raises(TypeError):
        decode("i1e")  # type: ignore[arg-type]

"""Bencode, the encoding of rtpengine's ng protocol.

``encode`` takes bytes, str (as UTF-8), int, list/tuple and dict (keys sorted as
bytes, as the spec wants). ``decode`` is strict about syntax and raises
:class:`BencodeError` with the offset of the first bad byte; it does not insist on
sorted keys, because rtpengine sends them in arrival order.
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 256


class BencodeError(ValueError):
    """Malformed bencode; ``offset`` is the index in the input where it went wrong."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} at offset {offset}")
        self.reason = message
        self.offset = offset


def encode(value: Any) -> bytes:
    """Bencode ``value``; TypeError for bool, float, None and other types."""
    out: list[bytes] = []
    _encode(value, out, 0)
    return b"".join(out)


def _encode(value: Any, out: list[bytes], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH}")
    if isinstance(value, bool):
        raise TypeError("bencode has no booleans: use 0/1 or a string")
    if isinstance(value, int):
        out.append(b"i%de" % value)
    elif isinstance(value, bytes | str):
        raw = value.encode() if isinstance(value, str) else value
        out.append(b"%d:%s" % (len(raw), raw))
    elif isinstance(value, list | tuple):
        out.append(b"l")
        for item in value:
            _encode(item, out, depth + 1)
        out.append(b"e")
    elif isinstance(value, dict):
        items: dict[bytes, Any] = {}
        for key, item in value.items():
            if not isinstance(key, bytes | str):
                raise TypeError(f"dictionary key {key!r} is not a string")
            raw = key.encode() if isinstance(key, str) else key
            if raw in items:
                raise ValueError(f"dictionary key {key!r} given twice (as str and bytes)")
            items[raw] = item
        out.append(b"d")
        for raw in sorted(items):
            out.append(b"%d:%s" % (len(raw), raw))
            _encode(items[raw], out, depth + 1)
        out.append(b"e")
    else:
        raise TypeError(f"cannot bencode {type(value).__name__}")


def decode(data: bytes, text: bool = True) -> Any:
    """Decode exactly one value spanning all of ``data``.

    With ``text`` (the default) strings that are valid UTF-8 come back as str, others
    as bytes, and dict keys must be UTF-8; with ``text=False`` every string and key
    is bytes.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("decode() takes bytes")
    decoder = _Decoder(bytes(data), text)
    value = decoder.value(0)
    if decoder.pos != len(decoder.data):
        raise BencodeError("trailing data after the value", decoder.pos)
    return value


class _Decoder:
    def __init__(self, data: bytes, text: bool) -> None:
        self.data = data
        self.text = text
        self.pos = 0

    def value(self, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise BencodeError(f"nested deeper than {MAX_DEPTH}", self.pos)
        if self.pos >= len(self.data):
            raise BencodeError("unexpected end of data", self.pos)
        lead = self.data[self.pos]
        if lead == 0x69:  # i
            return self.integer()
        if 0x30 <= lead <= 0x39:  # 0-9
            raw = self.string()
            if self.text:
                try:
                    return raw.decode()
                except UnicodeDecodeError:
                    return raw
            return raw
        if lead == 0x6C:  # l
            self.pos += 1
            items = []
            while self.peek() != 0x65:  # e
                items.append(self.value(depth + 1))
            self.pos += 1
            return items
        if lead == 0x64:  # d
            return self.dictionary(depth)
        raise BencodeError(f"unexpected byte {bytes([lead])!r}", self.pos)

    def peek(self) -> int:
        if self.pos >= len(self.data):
            raise BencodeError("unexpected end of data (missing 'e')", self.pos)
        return self.data[self.pos]

    def digits(self, start: int, end: int, what: str) -> int:
        """The decimal number data[start:end]: ASCII digits, no leading zero."""
        raw = self.data[start:end]
        negative = raw.startswith(b"-")
        body = raw[1:] if negative else raw
        if not body or not all(0x30 <= b <= 0x39 for b in body):
            raise BencodeError(f"bad {what} {raw[:20]!r}", start)
        if (body.startswith(b"0") and len(body) > 1) or (negative and body == b"0"):
            raise BencodeError(f"bad {what} {raw[:20]!r} (leading zero or -0)", start)
        try:
            number = int(body)
        except ValueError:  # more digits than Python converts (sys.int_info)
            raise BencodeError(f"{what} too long", start) from None
        return -number if negative else number

    def integer(self) -> int:
        end = self.data.find(b"e", self.pos + 1)
        if end < 0:
            raise BencodeError("unterminated integer", self.pos)
        value = self.digits(self.pos + 1, end, "integer")
        self.pos = end + 1
        return value

    def string(self) -> bytes:
        colon = self.data.find(b":", self.pos)
        if colon < 0:
            raise BencodeError("string length without ':'", self.pos)
        length = self.digits(self.pos, colon, "string length")
        if length < 0:
            raise BencodeError("negative string length", self.pos)
        start = colon + 1
        if start + length > len(self.data):
            raise BencodeError(f"string of {length} bytes runs past the end", self.pos)
        self.pos = start + length
        return self.data[start:self.pos]

    def dictionary(self, depth: int) -> dict[Any, Any]:
        self.pos += 1
        result: dict[Any, Any] = {}
        while self.peek() != 0x65:  # e
            key_at = self.pos
            if not 0x30 <= self.data[key_at] <= 0x39:
                raise BencodeError("dictionary key is not a string", key_at)
            raw = self.string()
            key: bytes | str = raw
            if self.text:
                try:
                    key = raw.decode()
                except UnicodeDecodeError:
                    raise BencodeError("dictionary key is not UTF-8", key_at) from None
            if key in result:
                raise BencodeError(f"duplicate dictionary key {key!r}", key_at)
            if self.peek() == 0x65:  # e
                raise BencodeError(f"dictionary key {key!r} without a value", self.pos)
            result[key] = self.value(depth + 1)
        self.pos += 1
        return result

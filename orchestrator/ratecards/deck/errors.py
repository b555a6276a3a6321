"""What the deck package reports: a file refused as a whole, or problems per cell."""

from __future__ import annotations

from typing import NamedTuple


class DeckError(ValueError):
    """Input refused as a whole (empty, binary, undecodable, malformed). ``message``
    is user-facing and says what is wrong with the file, not with the code."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RowError(NamedTuple):
    """One problem of a deck: the file's own row number (1-based, as a spreadsheet
    shows it), the column's header text (or ``column N`` without a header; the field
    name for a mapping problem), and what is wrong."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.column}: {self.message}"

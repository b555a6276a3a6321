"""What reading a deck gives: the table of strings and what was detected."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl


@dataclass(frozen=True)
class RawTable:
    """A deck as read: strings only, plus what was detected.

    The file's row number (1-based, as a spreadsheet or editor shows it) of frame row
    ``i`` is ``i + 1 + row_offset``; its column number of frame column ``j`` is
    ``j + 1 + column_offset``.
    """

    frame: pl.DataFrame
    format: str  # csv | xlsx | orc
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    sheets: tuple[str, ...] = ()
    row_offset: int = 0
    column_offset: int = 0
    currency: str | None = None
    # Field defaults the file itself declares (Open Rate Card ``rate`` object):
    # field name -> text, used by validation when that field is not mapped.
    defaults: dict[str, str] = field(default_factory=dict)

    @property
    def height(self) -> int:
        return self.frame.height

    @property
    def width(self) -> int:
        return self.frame.width

    def row_number(self, index: int) -> int:
        return index + 1 + self.row_offset

    def column_label(self, index: int) -> str:
        return f"column {index + 1 + self.column_offset}"

    def cells(self, row: int) -> list[str]:
        """The cells of the file's row number ``row`` ("" for empty), [] if none."""
        index = row - 1 - self.row_offset
        if index < 0 or index >= self.frame.height:
            return []
        return ["" if v is None else str(v) for v in self.frame.row(index)]

    def preview(self, rows: int = 20) -> list[tuple[int, list[str]]]:
        """The first ``rows`` rows as (file row number, cells) for the wizard."""
        return [(self.row_number(i), ["" if v is None else str(v) for v in values])
                for i, values in enumerate(self.frame.head(rows).iter_rows())]

"""Longest-prefix match of numbers against rate rows, vectorised with polars.

One hash join per distinct prefix length of the rate rows, longest first; a key that
matched is dropped before the next (shorter) length, so each key gets the row with
the longest prefix of its number in its own revision. No Python loop per number.
"""

from __future__ import annotations

import polars as pl

KEY = "id"
REVISION = "rev"
NUMBER = "number"
PREFIX = "prefix"


def longest_prefix(keys: pl.DataFrame, rates: pl.DataFrame) -> pl.DataFrame:
    """Match ``keys`` (columns ``id`` unique, ``rev``, ``number``) against ``rates``
    (columns ``rev``, ``prefix`` and any payload): one row per matched key with
    ``id``, ``prefix`` and the payload columns. Keys without a match are absent."""
    payload = [c for c in rates.columns if c not in (REVISION, PREFIX)]
    out_schema = {KEY: keys.schema[KEY], PREFIX: pl.String(),
                  **{c: rates.schema[c] for c in payload}}
    remaining = keys.select(KEY, REVISION, NUMBER).filter(
        pl.col(REVISION).is_not_null() & (pl.col(NUMBER).str.len_chars() > 0))
    if remaining.is_empty() or rates.is_empty():
        return pl.DataFrame(schema=out_schema)
    rates = rates.with_columns(pl.col(PREFIX).str.len_chars().alias("_plen"))
    remaining = remaining.with_columns(pl.col(NUMBER).str.len_chars().alias("_nlen"))
    lengths = sorted(rates["_plen"].unique().to_list(), reverse=True)
    found: list[pl.DataFrame] = []
    for length in lengths:
        candidates = remaining.filter(pl.col("_nlen") >= length)
        if candidates.is_empty():
            continue
        candidates = candidates.with_columns(pl.col(NUMBER).str.slice(0, length).alias(PREFIX))
        part = rates.filter(pl.col("_plen") == length).drop("_plen")
        hit = candidates.join(part, on=[REVISION, PREFIX], how="inner")
        if hit.is_empty():
            continue
        found.append(hit.select(list(out_schema)))
        remaining = remaining.join(hit.select(KEY), on=KEY, how="anti")
        if remaining.is_empty():
            break
    if not found:
        return pl.DataFrame(schema=out_schema)
    return pl.concat(found)

"""Step 3 of an import: mapped text cells -> the canonical frame, or every problem.

Vectorised: each field is checked by one polars expression over the whole column
(no Python loop over rows). Each problem is a ``RowError(row, column, message)``
with the file's row number and the column's header text. Any error means no frame:
nothing may be imported.

Rules (``docs/design/ratecards.md``, "Import pipeline"):

* cells are trimmed; a row whose cells are all blank is skipped (not an error);
* ``prefix``: 1-20 digits; a leading ``+`` is refused (not stripped) with its own
  message; duplicates name every row of the prefix;
* money (``rate``, ``inter``, ``intra``, ``connect_fee``): a plain non-negative
  decimal, at most 8 decimal places, at most 92,233,720,367 before the point; one
  decimal comma (``0,0123``) is read as a point; ``rate`` is required, ``inter`` /
  ``intra`` empty = none, ``connect_fee`` empty = 0;
* ``mcd`` / ``pulse``: whole seconds 1..3600, empty = 1; or one ``billing`` column
  ``30/6`` (``mcd/pulse``);
* ``status``: ``active`` | ``blocked`` (any case), empty = ``active``;
* ``name``: any text up to 200 characters, empty allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from orchestrator.ratecards.deck.errors import RowError
from orchestrator.ratecards.deck.mapping import FIELDS, Mapping, resolve
from orchestrator.ratecards.deck.table import RawTable
from orchestrator.ratecards.money import DECIMALS, SCALE

MAX_ERRORS = 1000
MAX_PREFIX = 20
MAX_NAME = 200
MAX_SECONDS = 3600
MAX_WHOLE = (2**63 - 1) // SCALE - 1  # 92_233_720_367: whole units that always fit

CANONICAL_SCHEMA: dict[str, pl.DataType] = {
    "prefix": pl.String(),
    "name": pl.String(),
    "rate": pl.Int64(),
    "inter": pl.Int64(),
    "intra": pl.Int64(),
    "mcd": pl.Int32(),
    "pulse": pl.Int32(),
    "connect_fee": pl.Int64(),
    "status": pl.String(),
}
COLUMNS = tuple(CANONICAL_SCHEMA)
_ROW = "__row"
_SHOW = 40  # characters of a bad value quoted in a message


@dataclass(frozen=True)
class ValidationResult:
    """Either ``frame`` (canonical, sorted by prefix) or ``errors`` (at most
    ``MAX_ERRORS``, by row then column) with ``total_errors`` counting them all."""

    frame: pl.DataFrame | None
    errors: list[RowError]
    total_errors: int

    @property
    def ok(self) -> bool:
        return self.frame is not None


def empty_canonical() -> pl.DataFrame:
    return pl.DataFrame(schema=CANONICAL_SCHEMA)


def _shown(expr: pl.Expr) -> pl.Expr:
    """A cell value quoted for a message, cut to ``_SHOW`` characters."""
    cut = pl.when(expr.str.len_chars() > _SHOW).then(
        expr.str.slice(0, _SHOW) + pl.lit("...")).otherwise(expr)
    return pl.lit("'") + cut + pl.lit("'")


_MONEY_FORMAT = r"^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$"
_MONEY_OK = (r"^(?:[0-9]{1,W}(?:\.[0-9]{0,D})?|\.[0-9]{1,D})$"
             .replace("W", str(len(str(MAX_WHOLE)))).replace("D", str(DECIMALS)))


def _point(text: pl.Expr) -> pl.Expr:
    """One decimal comma read as a point (``0,0123``); a second one stays invalid."""
    return text.str.replace(",", ".", literal=True)


def _units(text: pl.Expr) -> pl.Expr:
    """Units of a cell that passed ``_MONEY_OK`` (digits shifted by 8 places, no
    parsing of fractions); null where the value does not fit Int64."""
    point = _point(text)
    places = pl.when(point.str.contains(".", literal=True)).then(
        point.str.len_chars().cast(pl.Int64)
        - point.str.find(".", literal=True).cast(pl.Int64) - 1).otherwise(0)
    digits = pl.concat_str([point.str.replace(".", "", literal=True),
                            pl.lit("0" * DECIMALS).str.slice(
                                0, (DECIMALS - places).clip(0, DECIMALS))])
    return pl.when(text == "").then(pl.lit(None, pl.Int64)).otherwise(
        digits.cast(pl.Int64, strict=False))


def _money_ok(text: pl.Expr, units: pl.Expr, required: bool) -> pl.Expr:
    ok: pl.Expr = _point(text).str.contains(_MONEY_OK) & (
        units <= MAX_WHOLE * SCALE + SCALE - 1)
    if not required:
        ok = (text == "") | ok
    return ok.fill_null(False)


def _money_message(name: str, text: pl.Expr, required: bool) -> pl.Expr:
    """The message of a money cell that failed ``_money_ok`` (run on bad rows only)."""
    point = _point(text)
    frac = point.str.extract(r"\.([0-9]*)$", 1).fill_null("")
    return (
        pl.when(text == "").then(pl.lit(f"{name} is empty") if required else pl.lit(None))
        .when(point.str.contains(r"^-(?:[0-9]+\.?[0-9]*|\.[0-9]+)$"))
        .then(pl.lit(f"{name} ") + _shown(text) + pl.lit(" is negative"))
        .when(~point.str.contains(_MONEY_FORMAT))
        .then(pl.lit(f"{name} ") + _shown(text) + pl.lit(" is not a number"))
        .when(frac.str.len_chars() > DECIMALS)
        .then(pl.lit(f"{name} ") + _shown(text)
              + pl.lit(f" has more than {DECIMALS} decimal places"))
        .otherwise(pl.lit(f"{name} ") + _shown(text) + pl.lit(" is too large"))
    )


def _seconds_ok(text: pl.Expr) -> pl.Expr:
    value = text.cast(pl.Int32, strict=False)
    return (text == "") | (text.str.contains(r"^[0-9]{1,4}$")
                           & (value >= 1) & (value <= MAX_SECONDS))


def _seconds_message(name: str, text: pl.Expr, shown: pl.Expr) -> pl.Expr:
    value = text.cast(pl.Int64, strict=False)
    return (
        pl.when(_seconds_ok(text)).then(pl.lit(None))
        .when(~text.str.contains(r"^[0-9]+$"))
        .then(pl.lit(f"{name} ") + shown + pl.lit(" is not a positive whole number"))
        .when(value < 1).then(pl.lit(f"{name} ") + shown + pl.lit(" is not positive"))
        .otherwise(pl.lit(f"{name} ") + shown + pl.lit(f" is more than {MAX_SECONDS} "
                                                       "seconds"))
    )


def _prefix_key(prefix: pl.Expr) -> pl.Expr:
    """An Int128 whose order is the byte order of digit prefixes (1-20 digits):
    the prefix padded with zeros to 20 digits, then its length. Sorting it is much
    faster than sorting the strings."""
    return (prefix.str.pad_end(MAX_PREFIX, "0").cast(pl.Int128, strict=False) * 32
            + prefix.str.len_bytes().cast(pl.Int128))


def validate(table: RawTable, mapping: Mapping, *,
             max_errors: int = MAX_ERRORS) -> ValidationResult:
    """Validate the rows of ``table`` from ``mapping.first_row`` on."""
    resolved = resolve(table, mapping)
    if resolved.errors:
        return ValidationResult(None, resolved.errors[:max_errors], len(resolved.errors))
    start = max(mapping.first_row - 1 - table.row_offset, 0)
    rows = table.frame.slice(start).with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int64) + (start + 1 + table.row_offset))
        .alias(_ROW))
    raw = [c for c in table.frame.columns]
    blank = pl.all_horizontal(
        [pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in raw])
    rows = rows.filter(~blank)
    if rows.height == 0:
        error = RowError(mapping.first_row, "", f"no rate rows from row "
                                                f"{mapping.first_row} on")
        return ValidationResult(None, [error], 1)

    # One trimmed text column per field ("" when empty or not mapped; a default the
    # file declares, e.g. Open Rate Card "rate.default_pulse", when not mapped).
    labels = dict(resolved.labels)
    order: dict[str, int] = {}
    texts: list[pl.Expr] = [pl.col(_ROW)]
    for name in (*FIELDS, "billing"):
        if name in resolved.indexes:
            j = resolved.indexes[name]
            expr = pl.col(raw[j]).str.strip_chars().fill_null("")
            order[name] = j
        elif name in table.defaults:
            expr = pl.lit(table.defaults[name].strip(), pl.String)
            labels[name] = f"{name} (file default)"
            order[name] = -1
        else:
            expr = pl.lit("", pl.String)
            labels.setdefault(name, name)
            order[name] = -1
        texts.append(expr.alias(name))
    cells = rows.select(texts)

    prefix, billing, status = pl.col("prefix"), pl.col("billing"), pl.col("status")
    use_billing = "billing" in resolved.indexes or (
        "billing" in table.defaults and not {"mcd", "pulse"} & set(resolved.indexes))
    if use_billing:
        parts = billing.str.split_exact("/", 1)
        mcd_text = parts.struct.field("field_0").str.strip_chars().fill_null("")
        pulse_text = parts.struct.field("field_1").str.strip_chars().fill_null("")
    else:
        mcd_text, pulse_text = pl.col("mcd"), pl.col("pulse")
    money = ("rate", "inter", "intra", "connect_fee")
    cells = cells.with_columns(mcd_text.alias("__mcd"), pulse_text.alias("__pulse"),
                               *[_units(pl.col(m)).alias(f"__u_{m}") for m in money])
    mcd, pulse = pl.col("__mcd"), pl.col("__pulse")

    # Phase 1, every row: cheap yes/no checks only.
    ok: dict[str, pl.Expr] = {
        "prefix": prefix.str.contains(f"^[0-9]{{1,{MAX_PREFIX}}}$"),
        "name": pl.col("name").str.len_chars() <= MAX_NAME,
        "status": status.str.to_lowercase().is_in(["", "active", "blocked"]),
    }
    for m in money:
        ok[m] = _money_ok(pl.col(m), pl.col(f"__u_{m}"), m == "rate")
    if use_billing:
        ok["billing"] = (billing == "") | (
            billing.str.contains(r"^[0-9]+\s*/\s*[0-9]+$")
            & _seconds_ok(mcd) & _seconds_ok(pulse))
    else:
        ok["mcd"], ok["pulse"] = _seconds_ok(mcd), _seconds_ok(pulse)
    flagged = cells.with_columns([e.fill_null(False).alias(f"__ok_{n}")
                                  for n, e in ok.items()])

    # Phase 2, failing rows only: the messages.
    messages: dict[str, pl.Expr] = {
        "prefix": (
            pl.when(prefix == "").then(pl.lit("prefix is empty"))
            .when(prefix.str.starts_with("+"))
            .then(pl.lit("prefix ") + _shown(prefix)
                  + pl.lit(" starts with '+': write digits only"))
            .when(~prefix.str.contains(r"^[0-9]+$"))
            .then(pl.lit("prefix ") + _shown(prefix) + pl.lit(" is not digits only"))
            .otherwise(pl.lit("prefix ") + _shown(prefix)
                       + pl.lit(f" is longer than {MAX_PREFIX} digits"))),
        "name": pl.lit(f"name is longer than {MAX_NAME} characters"),
        "status": pl.lit("status ") + _shown(status) + pl.lit(" is not active or blocked"),
    }
    for m in money:
        messages[m] = _money_message(m, pl.col(m), m == "rate")
    if use_billing:
        messages["billing"] = (
            pl.when(~billing.str.contains(r"^[0-9]+\s*/\s*[0-9]+$"))
            .then(pl.lit("billing ") + _shown(billing)
                  + pl.lit(" is not mcd/pulse like 30/6"))
            .otherwise(pl.coalesce(_seconds_message("billing mcd", mcd, _shown(billing)),
                                   _seconds_message("billing pulse", pulse,
                                                    _shown(billing)))))
    else:
        messages["mcd"] = _seconds_message("mcd", mcd, _shown(mcd))
        messages["pulse"] = _seconds_message("pulse", pulse, _shown(pulse))
    found: list[pl.DataFrame] = []
    bad = flagged.filter(~pl.all_horizontal([pl.col(f"__ok_{n}") for n in ok]))
    for n in ok:
        failing = bad.filter(~pl.col(f"__ok_{n}"))
        if failing.height:
            found.append(failing.select(
                pl.col(_ROW).alias("row"), pl.lit(order[n], pl.Int64).alias("order"),
                pl.lit(labels[n], pl.String).alias("column"),
                messages[n].cast(pl.String).alias("message")))

    # Duplicates: sorted by prefix (an integer key), equal neighbours.
    ordered = flagged.with_columns(_prefix_key(prefix).alias("__key")).sort("__key", _ROW)
    same = (prefix == prefix.shift(1)) | (prefix == prefix.shift(-1))
    duplicated = ordered.filter(pl.col("__ok_prefix") & same.fill_null(False))
    if duplicated.height:
        groups = duplicated.group_by("prefix").agg(pl.col(_ROW).sort().alias("rows"))
        listed = (pl.col("rows").list.head(5).cast(pl.List(pl.String)).list.join(", ")
                  + pl.when(pl.col("rows").list.len() > 5).then(pl.lit(", ..."))
                  .otherwise(pl.lit("")))
        groups = groups.with_columns(
            (pl.lit("prefix ") + pl.col("prefix") + pl.lit(" is duplicated (rows ")
             + listed + pl.lit(")")).alias("message"))
        found.append(duplicated.select(_ROW, "prefix").join(groups, on="prefix").select(
            pl.col(_ROW).alias("row"), pl.lit(order["prefix"], pl.Int64).alias("order"),
            pl.lit(labels["prefix"], pl.String).alias("column"), "message"))
    if found:
        every = pl.concat(found).sort("row", "order")
        errors = [RowError(int(r), str(c), str(m)) for r, c, m in
                  every.head(max_errors).select("row", "column", "message").iter_rows()]
        return ValidationResult(None, errors, every.height)

    frame = ordered.select(
        prefix,
        pl.col("name"),
        pl.col("__u_rate").alias("rate"),
        pl.col("__u_inter").alias("inter"),
        pl.col("__u_intra").alias("intra"),
        pl.when(mcd == "").then(1).otherwise(mcd.cast(pl.Int32, strict=False))
        .cast(pl.Int32).alias("mcd"),
        pl.when(pulse == "").then(1).otherwise(pulse.cast(pl.Int32, strict=False))
        .cast(pl.Int32).alias("pulse"),
        pl.col("__u_connect_fee").fill_null(0).alias("connect_fee"),
        pl.when(status == "").then(pl.lit("active"))
        .otherwise(status.str.to_lowercase()).alias("status"),
    )
    return ValidationResult(frame.cast(CANONICAL_SCHEMA), [], 0)  # type: ignore[arg-type]

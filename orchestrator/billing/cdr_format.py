"""The CDR line Kamailio writes (templates/kamailio/cdrs.cfg.j2) and how it is read.

One line per call attempt, fields separated by ``|`` (db_flatstore): acc's own seven
(method, from-tag, to-tag, call-id, code, reason, time: not used, they describe the
message that happened to end the attempt), then the ``db_extra`` fields of
kamailio.cfg.j2 in order (``EXTRA_FIELDS``).  Values the script did not set are empty
or ``<null>``; caller and dialled number are URI-escaped by the script, so no field
holds a ``|``.  Times are ``seconds.microseconds`` (``$TV(Sn)``).

``parse_lines`` turns lines into a polars frame with the ``cdrs`` table's columns
(orchestrator/billing/models.py), vectorised: no Python loop per line.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

ACC_FIELDS = ("method", "acc_from_tag", "acc_to_tag", "acc_call_id", "acc_code",
              "acc_reason", "acc_time")
EXTRA_FIELDS = ("t0", "te", "ta", "t18", "rc", "rr", "hup", "ci", "ft", "cs", "src", "cust",
                "rid", "user", "caller", "dialled", "num", "routed", "tree", "kid", "pc",
                "tried", "media", "mset")
FIELDS = ACC_FIELDS + EXTRA_FIELDS
NULL = "<null>"

# The columns parse_lines returns (and the collector inserts), with their types.
COLUMNS: dict[str, pl.DataType] = {
    "node": pl.String(), "call_id": pl.String(), "from_tag": pl.String(), "cseq": pl.Int64(),
    "start_at": pl.Datetime("us", "UTC"), "answer_at": pl.Datetime("us", "UTC"),
    "end_at": pl.Datetime("us", "UTC"), "duration_ms": pl.Int64(), "pdd_ms": pl.Int64(),
    "code": pl.Int64(), "reason": pl.String(), "hangup": pl.String(),
    "customer_id": pl.Int64(), "route_id": pl.Int64(), "sip_user": pl.String(),
    "source_ip": pl.String(), "caller": pl.String(), "dialled": pl.String(),
    "number": pl.String(), "routed": pl.String(), "tariff": pl.String(),
    "customer_card_revision_id": pl.Int64(), "carrier_id": pl.Int64(),
    "provider_card_id": pl.Int64(), "tried": pl.String(), "media": pl.String(),
    "media_zone": pl.String(),
}


# acc's "reason" field carries the comment given to acc_db_request(): the kind of line
CDR_KIND = "cdr"   # a call attempt
FIX_KIND = "fix"   # a correction to an answered call's CDR: why it ended (hup)
KIND_FIELD = FIELDS.index("acc_reason")


def split_lines(text: str) -> tuple[list[str], list[str]]:
    """(good lines, bad lines): good ones have exactly len(FIELDS) fields."""
    good: list[str] = []
    bad: list[str] = []
    for line in text.splitlines():
        if not line:
            continue
        (good if line.count("|") == len(FIELDS) - 1 else bad).append(line)
    return good, bad


def split_kinds(lines: Sequence[str]) -> tuple[list[str], list[str]]:
    """(CDR lines, fix lines) of well-formed lines; other kinds are left out."""
    cdrs: list[str] = []
    fixes: list[str] = []
    for line in lines:
        kind = line.split("|", KIND_FIELD + 1)[KIND_FIELD]
        if kind == CDR_KIND:
            cdrs.append(line)
        elif kind == FIX_KIND:
            fixes.append(line)
    return cdrs, fixes


def parse_fixes(lines: Sequence[str]) -> list[tuple[str, str, str]]:
    """(call_id, from_tag, hangup) of each fix line."""
    ci, ft, hup = FIELDS.index("ci"), FIELDS.index("ft"), FIELDS.index("hup")
    out = []
    for line in lines:
        parts = line.split("|")
        out.append((parts[ci], parts[ft], parts[hup]))
    return out


def _text(name: str) -> pl.Expr:
    col = pl.col(name)
    return pl.when(col == NULL).then(pl.lit("")).otherwise(col.fill_null(""))


def _int(name: str) -> pl.Expr:
    return _text(name).cast(pl.Int64, strict=False)


def _time(name: str) -> pl.Expr:
    """seconds.microseconds -> UTC datetime (null when empty)."""
    secs = _text(name).cast(pl.Float64, strict=False)
    return (secs * 1_000_000).round(0).cast(pl.Int64).cast(pl.Datetime("us", "UTC"))


def _unescape(name: str) -> pl.Expr:
    """Undo the script's {s.escape.user} (%XX) for the common cases, keep the rest."""
    expr = _text(name)
    for code, char in (("%7C", "|"), ("%7c", "|"), ("%20", " "), ("%23", "#"),
                       ("%22", '"'), ("%3C", "<"), ("%3E", ">"), ("%25", "%")):
        expr = expr.str.replace_all(code, char, literal=True)
    return expr


def parse_lines(lines: Sequence[str], node: str, zones: dict[int, str]) -> pl.DataFrame:
    """CDR lines (all with len(FIELDS) fields) -> a frame of COLUMNS."""
    if not lines:
        return pl.DataFrame(schema=COLUMNS)
    raw = pl.DataFrame({"line": list(lines)}).select(
        pl.col("line").str.split_exact("|", len(FIELDS) - 1).struct.rename_fields(
            list(FIELDS))).unnest("line")
    start = _time("t0")
    end = _time("te")
    answer = _time("ta")
    frame = raw.select(
        pl.lit(node).alias("node"),
        _text("ci").alias("call_id"),
        _text("ft").alias("from_tag"),
        _int("cs").fill_null(0).alias("cseq"),
        pl.coalesce(start, end).alias("start_at"),
        answer.alias("answer_at"),
        end.alias("end_at"),
        pl.when(answer.is_not_null()).then(
            ((end - answer).dt.total_milliseconds()).clip(lower_bound=0)).otherwise(0)
        .cast(pl.Int64).alias("duration_ms"),
        (_time("t18") - pl.coalesce(start, end)).dt.total_milliseconds().cast(pl.Int64)
        .alias("pdd_ms"),
        _int("rc").fill_null(0).alias("code"),
        _text("rr").alias("reason"),
        _text("hup").alias("hangup"),
        _int("cust").alias("customer_id"),
        _int("rid").alias("route_id"),
        _unescape("user").alias("sip_user"),
        _text("src").alias("source_ip"),
        _unescape("caller").alias("caller"),
        _unescape("dialled").alias("dialled"),
        _text("num").alias("number"),
        _text("routed").alias("routed"),
        _text("tree").alias("tariff"),
        _text("tree").str.extract(r"^t(\d+)", 1).cast(pl.Int64, strict=False)
        .alias("customer_card_revision_id"),
        _int("kid").alias("carrier_id"),
        _int("pc").alias("provider_card_id"),
        _text("tried").alias("tried"),
        _text("media").alias("media"),
        _int("mset").replace_strict(zones, default=None, return_dtype=pl.String)
        .fill_null("").alias("media_zone"),
    )
    return frame.cast(COLUMNS)  # type: ignore[arg-type]

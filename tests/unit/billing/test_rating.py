"""Rating CDRs (PRODUCT.md §3): charges computed by hand, both sides, LPM, revisions in
force, jurisdiction, currencies, CDRs without cards, and agreement with arithmetic.py."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from orchestrator.billing import balances, rating, rating_tables
from orchestrator.billing.arithmetic import call_charge
from orchestrator.billing.models import Cdr
from orchestrator.ratecards.deck import store
from orchestrator.ratecards.models import ExchangeRate
from tests.support.cdrs import add_cdrs
from tests.unit.billing.rating_world import (
    JURISDICTIONS,
    T0,
    R,
    buy_card,
    customer,
    revision,
    sell_card,
    session_at,
)
from tests.unit.ratecards.cards_support import exchange_rate

U = 10**8  # units per currency unit


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    yield from session_at(tmp_path)


@pytest.fixture
def deltas(monkeypatch: pytest.MonkeyPatch) -> list[dict[int, int]]:
    calls: list[dict[int, int]] = []
    monkeypatch.setattr(balances, "apply_charge_deltas",
                        lambda session, d: calls.append(dict(d)))
    return calls


def rate(session: Session, **kwargs: Any) -> rating.RatingResult:
    return rating.rate_pending(session, jurisdictions=JURISDICTIONS, base_currency="USD",
                               **kwargs)


def rated(session: Session, cdrs: list[Cdr]) -> list[Cdr]:
    ids = [c.id for c in cdrs]
    session.expire_all()
    got = [session.get(Cdr, i) for i in ids]
    assert all(g is not None for g in got)
    return [g for g in got if g is not None]


def test_sell_charge_mcd_pulse_connect_fee_and_fractions(
        session: Session, deltas: list[dict[int, int]]) -> None:
    who = customer(session)
    card = sell_card(session)  # precision 4, rounding up
    rev = revision(session, card, [R("44", "0.0100", mcd=30, pulse=6, connect_fee="0.05"),
                                   R("33", "0.0600", mcd=0, pulse=1)])
    base = {"customer_id": who.id, "customer_card_revision_id": rev.id}
    cdrs = add_cdrs(session, base | {"number": "441234567", "duration_ms": 31_000},
                    base | {"number": "441234567", "duration_ms": 37_000},
                    base | {"number": "441234567", "duration_ms": 10_000},
                    base | {"number": "441234567", "duration_ms": 0, "code": 200},
                    base | {"number": "33123", "duration_ms": 30_200},
                    base | {"number": "33123", "duration_ms": 30_000})
    result = rate(session)
    got = rated(session, cdrs)
    # 30/6: 31 s -> 36 s, 37 s -> 42 s, 10 s and 0 s -> 30 s; 0.01/min + 0.05 per call
    assert [c.sell_billed for c in got] == [36, 42, 30, 30, 31, 30]
    assert [c.sell_charge for c in got] == [
        5_600_000, 5_700_000, 5_500_000, 5_500_000,  # 0.056, 0.057, 0.055, 0.055
        3_100_000, 3_000_000]                         # 30.2 s bills 31 s at 0.06/min
    assert [c.sell_prefix for c in got] == ["44"] * 4 + ["33"] * 2
    assert all(c.sell_currency == "USD" and c.rated_at is not None for c in got)
    assert [c.customer_charge for c in got] == [c.sell_charge for c in got]
    total = 5_600_000 + 5_700_000 + 5_500_000 * 2 + 3_100_000 + 3_000_000
    assert result.rated == 6 and result.customers == {who.id}
    assert deltas == [{who.id: total}]


@pytest.mark.parametrize(("precision", "rounding", "units"), [
    (4, "up", 20_000), (4, "down", 10_000), (4, "half_up", 20_000),
    (4, "half_down", 20_000), (6, "up", 15_200), (0, "up", U), (0, "down", 0)])
def test_precision_and_rounding(session: Session, deltas: list[dict[int, int]],
                                precision: int, rounding: str, units: int) -> None:
    # 0.0013/min for 7 s = 0.000151666...
    card = sell_card(session, precision=precision, rounding=rounding)
    rev = revision(session, card, [R("49", "0.0013")])
    (cdr,) = add_cdrs(session, {"customer_card_revision_id": rev.id, "number": "4930",
                                "duration_ms": 7_000})
    rate(session)
    assert rated(session, [cdr])[0].sell_charge == units


@pytest.mark.parametrize(("rounding", "units"), [("half_up", 10_000), ("half_down", 0)])
def test_rounding_a_tie(session: Session, deltas: list[dict[int, int]], rounding: str,
                        units: int) -> None:
    # 0.0006/min for 5 s = 0.00005 exactly: half way between 0.0000 and 0.0001
    rev = revision(session, sell_card(session, rounding=rounding), [R("49", "0.0006")])
    (cdr,) = add_cdrs(session, {"customer_card_revision_id": rev.id, "number": "4930",
                                "duration_ms": 5_000})
    rate(session)
    assert rated(session, [cdr])[0].sell_charge == units


def test_unanswered_calls_get_prefix_and_rate_but_bill_nothing(
        session: Session, deltas: list[dict[int, int]]) -> None:
    who = customer(session)
    rev = revision(session, sell_card(session), [R("44", "0.0100", connect_fee="0.05")])
    (cdr,) = add_cdrs(session, {"customer_id": who.id, "customer_card_revision_id": rev.id,
                                "number": "4420", "code": 486, "duration_ms": 0})
    result = rate(session)
    (got,) = rated(session, [cdr])
    assert (got.sell_prefix, got.sell_rate, got.sell_billed, got.sell_charge) == (
        "44", 1_000_000, 0, 0)
    assert got.rated_at is not None and got.customer_charge == 0
    assert result.rated == 1 and result.customers == set() and deltas == []


def test_longest_prefix_wins(session: Session, deltas: list[dict[int, int]]) -> None:
    rev = revision(session, sell_card(session), [
        R("4", "0.5000"), R("44", "0.0100"), R("4420", "0.0200"), R("44209", "0.0300")])
    base = {"customer_card_revision_id": rev.id, "duration_ms": 60_000}
    cdrs = add_cdrs(session, base | {"number": "442071234567"},
                    base | {"number": "441611234567"}, base | {"number": "4930123"},
                    base | {"number": "44"}, base | {"number": "331234"})
    rate(session)
    got = rated(session, cdrs)
    assert [c.sell_prefix for c in got] == ["4420", "44", "4", "44", ""]
    assert [c.sell_rate for c in got] == [2_000_000, 1_000_000, 50_000_000, 1_000_000, None]
    # one minute at the rate; no match: nothing billed
    assert [c.sell_charge for c in got] == [2_000_000, 1_000_000, 50_000_000, 1_000_000, 0]
    assert [c.sell_billed for c in got] == [60, 60, 60, 60, 0]


def test_buy_side_uses_the_revision_in_force_at_start(
        session: Session, deltas: list[dict[int, int]]) -> None:
    deck = buy_card(session)
    first = revision(session, deck, [R("44", "0.0050")], activated_at=T0)
    second = revision(session, deck, [R("44", "0.0070"), R("4420", "0.0080")],
                      activated_at=T0 + timedelta(days=1))
    sell = revision(session, sell_card(session), [R("44", "0.0100")])
    base = {"customer_card_revision_id": sell.id, "provider_card_id": deck.id,
            "number": "442071234567", "duration_ms": 61_000}
    cdrs = add_cdrs(session, base | {"start_at": T0 - timedelta(hours=1)},
                    base | {"start_at": T0 + timedelta(hours=1)},
                    base | {"start_at": T0 + timedelta(days=1)},
                    base | {"start_at": T0 + timedelta(days=2)})
    rate(session)
    got = rated(session, cdrs)
    assert [c.buy_revision_id for c in got] == [None, first.id, second.id, second.id]
    assert [c.buy_prefix for c in got] == ["", "44", "4420", "4420"]
    assert [c.buy_rate for c in got] == [None, 500_000, 800_000, 800_000]
    # 61 s at 0.005/min = 508333.33 units -> up to 508334; at 0.008: 813333.33 -> 813334
    assert [c.buy_charge for c in got] == [0, 508_334, 813_334, 813_334]
    assert [c.buy_billed for c in got] == [0, 61, 61, 61]
    assert all(c.buy_currency == ("" if i == 0 else "USD") for i, c in enumerate(got))
    # sell: 61 s at 0.01/min = 0.01016.. -> 0.0102 (precision 4, up)
    assert [c.sell_charge for c in got] == [1_020_000] * 4
    assert [c.profit for c in got] == [1_020_000, 511_666, 206_666, 206_666]


def test_jurisdiction_picks_intra_inter_or_rate(session: Session,
                                                deltas: list[dict[int, int]]) -> None:
    rev = revision(session, sell_card(session), [
        R("1", "0.0100", inter="0.0200", intra="0.0300"), R("44", "0.0400")])
    deck = buy_card(session)
    revision(session, deck, [R("1", "0.0010", inter="0.0020", intra="0.0030")],
             activated_at=T0 - timedelta(days=30))
    base = {"customer_card_revision_id": rev.id, "provider_card_id": deck.id,
            "duration_ms": 60_000, "start_at": T0}
    cases = [("12015550100", "19735550100", "intra", 3_000_000, 300_000),  # NJ -> NJ
             ("12125550100", "12015550100", "inter", 2_000_000, 200_000),  # NY -> NJ
             ("+12125550100", "19735550100", "inter", 2_000_000, 200_000),
             ("2125550100", "12015550100", "inter", 2_000_000, 200_000),  # national form
             ("anonymous", "12015550100", "indeterminate", 1_000_000, 100_000),
             ("", "12015550100", "indeterminate", 1_000_000, 100_000),
             ("14165550100", "12015550100", "indeterminate", 1_000_000, 100_000),  # Canada
             ("13055550100", "12015550100", "indeterminate", 1_000_000, 100_000),  # unknown
             ("441234567", "12015550100", "indeterminate", 1_000_000, 100_000),
             ("12015550100", "441234567", "", 4_000_000, 0)]  # row without inter/intra
    cdrs = add_cdrs(session, *[base | {"caller": a, "number": b} for a, b, *_ in cases])
    rate(session)
    got = rated(session, cdrs)
    assert [c.jurisdiction for c in got] == [case[2] for case in cases]
    assert [c.sell_charge for c in got] == [case[3] for case in cases]
    assert [c.buy_charge for c in got] == [case[4] for case in cases]


def test_default_jurisdiction_table_is_the_uploaded_one(tmp_path: Path) -> None:
    (tmp_path / "npa_regions.csv").write_text("prefix,country,region\n1201,US,NJ\n")
    table = rating.default_jurisdictions(tmp_path)
    assert table.classify("12015550100", "12015550111") == "intra"
    assert table.classify("12125550100", "12015550111") == "indeterminate"
    upload = tmp_path / "npa_regions.csv"
    upload.write_text("prefix,country,region\n1201,US,NJ\n1212,US,NY\n")
    stat = upload.stat()
    import os
    os.utime(upload, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert rating.default_jurisdictions(tmp_path).classify(
        "12125550100", "12015550111") == "inter"


def test_currency_conversion_and_profit(session: Session,
                                        deltas: list[dict[int, int]]) -> None:
    exchange_rate(session, "EUR", "0.92")
    exchange_rate(session, "GBP", "0.79")
    exchange_rate(session, "CHF", "2")
    euro = customer(session, "EUR")
    pound = customer(session, "GBP")
    dollar = customer(session)
    usd_rev = revision(session, sell_card(session), [
        R("44", "0.0100", mcd=30, pulse=6, connect_fee="0.05"), R("45", "0.0560")])
    eur_rev = revision(session, sell_card(session, "EUR", precision=8),
                       [R("44", "0.000001")])   # 100 units a minute
    chf_rev = revision(session, sell_card(session, "CHF", precision=8),
                       [R("44", "0.00000003")])  # 3 units a minute
    eur_deck = buy_card(session, "EUR")
    revision(session, eur_deck, [R("45", "0.0460")], activated_at=T0 - timedelta(days=1))
    cdrs = add_cdrs(
        session,
        {"customer_id": euro.id, "customer_card_revision_id": usd_rev.id,
         "number": "4412", "duration_ms": 31_000},
        {"customer_id": pound.id, "customer_card_revision_id": eur_rev.id,
         "number": "4412", "duration_ms": 60_000},
        {"customer_id": dollar.id, "customer_card_revision_id": chf_rev.id,
         "number": "4412", "duration_ms": 60_000},
        {"customer_id": dollar.id, "customer_card_revision_id": usd_rev.id,
         "provider_card_id": eur_deck.id, "number": "4512", "duration_ms": 60_000,
         "start_at": T0})
    rate(session)
    got = rated(session, cdrs)
    # 0.056 USD at 0.92 EUR per USD = 0.05152 EUR
    assert (got[0].sell_charge, got[0].customer_charge) == (5_600_000, 5_152_000)
    assert (got[0].sell_currency, got[0].profit) == ("USD", 5_600_000)
    # 100 EUR units x 0.79 / 0.92 = 85.87 GBP units -> 86 (half up)
    assert (got[1].sell_charge, got[1].customer_charge) == (100, 86)
    # 3 CHF units x 1 / 2 = 1.5 USD units -> 2 (half up)
    assert (got[2].sell_charge, got[2].customer_charge) == (3, 2)
    # buy 0.046 EUR = 0.05 USD; sell 0.056 USD: profit 0.006 USD
    assert (got[3].buy_charge, got[3].buy_currency, got[3].sell_charge) == (
        4_600_000, "EUR", 5_600_000)
    assert got[3].profit == 600_000
    assert deltas == [{euro.id: 5_152_000, pound.id: 86, dollar.id: 2 + 5_600_000}]


def test_a_missing_exchange_rate_leaves_the_cdr_waiting(
        session: Session, deltas: list[dict[int, int]]) -> None:
    yen = customer(session, "JPY")
    rev = revision(session, sell_card(session), [R("44", "0.0560")])
    base = {"customer_id": yen.id, "customer_card_revision_id": rev.id, "number": "4412"}
    answered, unanswered = add_cdrs(session, base | {"duration_ms": 60_000},
                                    base | {"code": 486})
    first = rate(session)
    assert (first.rated, first.waiting) == (1, 1)  # 0 needs no exchange rate
    got = rated(session, [answered, unanswered])
    assert got[0].rated_at is None and got[1].rated_at is not None
    assert deltas == []
    exchange_rate(session, "JPY", "150")
    second = rate(session)
    assert (second.rated, second.waiting) == (1, 0)
    assert rated(session, [answered])[0].customer_charge == 5_600_000 * 150
    assert deltas == [{yen.id: 840_000_000}]


def test_cdrs_without_cards_are_rated_with_zeros(session: Session,
                                                  deltas: list[dict[int, int]]) -> None:
    who = customer(session, "EUR")
    deck = buy_card(session)  # a card without any revision
    rev = revision(session, sell_card(session), [R("44", "0.0600")])
    cdrs = add_cdrs(session, {"customer_id": who.id, "duration_ms": 60_000},
                    {"duration_ms": 60_000, "provider_card_id": deck.id},
                    {"customer_id": None, "code": 403})
    gone, = add_cdrs(session, {"customer_id": who.id + 1000, "duration_ms": 60_000,
                               "customer_card_revision_id": rev.id, "number": "4412"})
    result = rate(session)
    got = rated(session, cdrs)
    # a customer id that no longer exists: rated in the card's currency, no balance
    assert rated(session, [gone])[0].customer_charge == 6_000_000
    assert result.rated == 4 and deltas == []
    assert all(c.rated_at is not None and c.sell_charge == 0 and c.buy_charge == 0
               and c.customer_charge == 0 and c.profit == 0 and c.sell_rate is None
               and c.buy_revision_id is None for c in got)
    assert got[0].sell_currency == "EUR"  # no card: the customer's currency


def test_rating_twice_rates_nothing_the_second_time(session: Session,
                                                    deltas: list[dict[int, int]]) -> None:
    who = customer(session)
    rev = revision(session, sell_card(session), [R("44", "0.0600")])
    add_cdrs(session, *[{"customer_id": who.id, "customer_card_revision_id": rev.id,
                         "number": "4412", "duration_ms": 1_000 * (i + 1)}
                        for i in range(5)])
    first = rate(session, batch=2)  # three batches, one call with their sum
    second = rate(session)
    # 1+2+3+4+5 = 15 s at 0.06/min = 0.015
    assert first.rated == 5 and deltas == [{who.id: 1_500_000}]
    assert second.rated == 0 and second.customers == set() and len(deltas) == 1


def test_same_numbers_as_arithmetic_on_a_sample(session: Session,
                                                deltas: list[dict[int, int]]) -> None:
    rng = random.Random(7)
    rows = [R(f"5{i:02d}", f"0.{rng.randrange(1, 10**6):06d}", mcd=rng.choice([0, 1, 30, 60]),
              pulse=rng.choice([1, 6, 30, 60]), connect_fee=rng.choice(["0", "0.015"]))
            for i in range(30)]
    cards = [(p, m, revision(session, sell_card(session, precision=p, rounding=m), rows))
             for p in (0, 2, 4, 8) for m in ("up", "down", "half_up", "half_down")]
    deck = buy_card(session)
    revision(session, deck, rows, activated_at=T0 - timedelta(days=1))
    specs = []
    for _ in range(400):
        p, m, rev = rng.choice(cards)
        row = rng.choice(rows)
        duration = rng.choice([0, rng.randrange(1, 7_200_000)])
        code = 200 if duration or rng.random() < 0.3 else 486
        specs.append((p, m, row, code == 200, duration, {
            "customer_card_revision_id": rev.id, "provider_card_id": deck.id,
            "number": row.prefix + "123", "duration_ms": duration, "code": code,
            "start_at": T0}))
    cdrs = add_cdrs(session, *[s[-1] for s in specs])
    rate(session)
    for (p, m, row, answered, duration, _), got in zip(specs, rated(session, cdrs),
                                                         strict=True):
        values = row.row()
        args = (values["rate"], Fraction(duration, 1000), row.mcd, row.pulse,
                values["connect_fee"])
        assert (got.sell_billed, got.sell_charge) == call_charge(
            *args, precision=p, rounding=m, answered=answered)
        assert (got.buy_billed, got.buy_charge) == call_charge(
            *args, precision=8, rounding="up", answered=answered)


def test_exchange_rates_are_read_once_per_run(session: Session,
                                              deltas: list[dict[int, int]]) -> None:
    # a rate changed between two runs is used by the second one
    exchange_rate(session, "EUR", "0.5")
    who = customer(session, "EUR")
    rev = revision(session, sell_card(session), [R("44", "0.0600")])
    first, = add_cdrs(session, {"customer_id": who.id, "customer_card_revision_id": rev.id,
                                "number": "4412", "duration_ms": 60_000})
    rate(session)
    row = session.get(ExchangeRate, "EUR")
    assert row is not None
    row.per_base = "0.25"
    second, = add_cdrs(session, {"customer_id": who.id, "customer_card_revision_id": rev.id,
                                 "number": "4412", "duration_ms": 60_000})
    rate(session)
    assert [c.customer_charge for c in rated(session, [first, second])] == [
        3_000_000, 1_500_000]


def test_rate_rows_are_read_once_across_runs(session: Session, deltas: list[dict[int, int]],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[int] = []
    real = store.read_rates

    def counting(connection: Any, revision_id: int, **kwargs: Any) -> Any:
        reads.append(revision_id)
        return real(connection, revision_id, **kwargs)

    monkeypatch.setattr(rating_tables, "read_rates", counting)  # what rating reads with
    rev = revision(session, sell_card(session), [R("44", "0.0600")])
    for _ in range(3):  # as the collector does, every few seconds
        add_cdrs(session, {"customer_card_revision_id": rev.id, "number": "4412",
                           "duration_ms": 60_000})
        assert rate(session).rated == 1
    assert reads == [rev.id]


def test_conversion_with_long_exchange_rates_is_exact() -> None:
    # ratios whose numerator and denominator do not fit 63 bits go row by row, exactly
    from decimal import Decimal

    import polars as pl

    from orchestrator.billing.rating_frame import convert
    per_base = {"USD": Fraction(1), "XAU": Fraction(Decimal("0.000512345678907")),
                "JPY": Fraction(Decimal("987654321.123456789013"))}
    frame = pl.DataFrame({"amount": [1_234, 0, 5, -7, 1_000],
                          "src": ["XAU", "XAU", "JPY", "XAU", "EUR"],
                          "dst": ["JPY", "JPY", "XAU", "JPY", "USD"]})
    got = convert(frame, "amount", "src", "dst", per_base).to_list()

    def half_up(value: Fraction) -> int:
        whole, rest = divmod(abs(value.numerator), value.denominator)
        whole += 2 * rest >= value.denominator
        return -whole if value < 0 else whole

    ratio = per_base["JPY"] / per_base["XAU"]
    assert ratio.numerator >= 2**63  # the row-by-row path
    assert got[:4] == [half_up(1_234 * ratio), 0, half_up(5 / ratio),
                       half_up(-7 * ratio)]
    assert got[4] is None  # no EUR rate: the CDR waits

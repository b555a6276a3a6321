"""Tariff tree rows: candidate order, loss flags, reverse indices, external cards."""

from __future__ import annotations

import polars as pl
from sqlalchemy.orm import Session

from orchestrator.compile.snapshot import Candidate, TariffValue
from orchestrator.compile.tariffs import lookup, pack_rows, tariff_ref, tariff_rows
from orchestrator.ratecards import customer_cards
from orchestrator.ratecards.models import CustomerCard, ExchangeRate
from tests.unit.ratecards.cards_support import ADMIN, exchange_rate, provider, revision
from tests.unit.routing import conftest as routing_db

migrated_db, db_url, session = routing_db.migrated_db, routing_db.db_url, routing_db.session


def _card(session: Session, name: str, parents: list[tuple[int, int]], currency: str = "USD",
          external: bool = False) -> CustomerCard:
    return customer_cards.create_customer_card(session, ADMIN, {
        "name": name, "currency": currency, "external": external,
        "parents": [{"provider_card_id": pc, "priority": prio} for pc, prio in parents]})


def test_pack_rows_orders_candidates_flags_loss_and_lists_reverse_indices() -> None:
    frame = pl.DataFrame({
        "prefix": ["44", "1", "4420"], "rate": [1000, 500, 0], "mcd": [30, 1, 1],
        "pulse": [6, 1, 1], "connect_fee": [5, 0, 0], "status": ["active", "active", "blocked"]})
    candidates = pl.DataFrame({"pid": [0, 0, 0, 0, 2], "pc": [7, 3, 5, 9, 3],
                               "cost": [900, 1200, 900, 800, 10]},
                              schema={"pid": pl.UInt32, "pc": pl.Int64, "cost": pl.Int64})
    rows = dict(pack_rows(frame, candidates, {7: 1, 5: 0, 3: 0, 9: 2}).iter_rows())
    # lcr: 9 (800), then the two at 900 by priority (5 has 0, 7 has 1), then 3 (1200,
    # above the sell rate 1000: loss). reverse_lcr: 3 (index 3), 5 (1), 7 (2), 9 (0).
    assert rows["44"] == "1000|30|6|5|a|9:800:0;5:900:0;7:900:0;3:1200:1|3;1;2;0"
    assert rows["1"] == "500|1|1|0|a||"
    assert rows["4420"] == "0|1|1|0|b||"  # blocked: no candidates
    assert list(pack_rows(frame, candidates, {})["prefix"]) == ["1", "44", "4420"]


def test_equal_cost_and_priority_falls_back_to_card_id_both_ways() -> None:
    frame = pl.DataFrame({"prefix": ["3"], "rate": [100], "mcd": [1], "pulse": [1],
                          "connect_fee": [0], "status": ["active"]})
    candidates = pl.DataFrame({"pid": [0, 0, 0], "pc": [8, 4, 6], "cost": [50, 50, 70]},
                              schema={"pid": pl.UInt32, "pc": pl.Int64, "cost": pl.Int64})
    packed = pack_rows(frame, candidates, {}).item(0, "value")
    value = TariffValue.unpack(packed)
    assert [c.provider_card_id for c in value.candidates] == [4, 8, 6]
    assert value.reverse == (2, 0, 1)  # 6 (70), then 4 and 8 at 50 by id
    # the polars text is exactly TariffValue.pack() of the same content
    assert packed == TariffValue(100, 1, 1, 0, False, (
        Candidate(4, 50, False), Candidate(8, 50, False), Candidate(6, 70, False)),
        (2, 0, 1)).pack()


def test_built_card_rows_come_from_the_stored_candidates(session: Session) -> None:
    a, b, c = (provider(session, f"P{n}") for n in "ABC")
    card = _card(session, "Built", [(a.id, 1), (b.id, 0), (c.id, 0)])
    rev = revision(session, card, [("44", "UK", 1000), ("33", "FR", 700),
                                   ("49", "DE", 0, None, None, "blocked")],
                   candidates=[f"{a.id}:900,{b.id}:900,{c.id}:1100", f"{c.id}:650", None])
    ref, warnings = tariff_ref(session, card, rev.id, "USD")
    assert warnings == [] and ref.tree.startswith(f"t{rev.id}x")  # priorities differ
    rows = dict(tariff_rows(session, ref).iter_rows())
    assert rows == {
        "33": f"700|1|1|0|a|{c.id}:650:0|0",
        "44": f"1000|1|1|0|a|{b.id}:900:0;{a.id}:900:0;{c.id}:1100:1|2;0;1",
        "49": "0|1|1|0|b||",
    }
    assert list(tariff_rows(session, ref)["prefix"]) == ["33", "44", "49"]


def test_a_built_card_with_one_priority_is_named_after_its_revision(session: Session) -> None:
    a = provider(session, "PA")
    card = _card(session, "Plain", [(a.id, 3)])
    rev = revision(session, card, [("44", "UK", 1000)])
    assert tariff_ref(session, card, rev.id, "USD")[0].tree == f"t{rev.id}"


def test_external_card_candidates_are_longest_matches_converted_up(session: Session) -> None:
    exchange_rate(session, "EUR", "0.9")  # 0.9 EUR per USD
    usd = provider(session, "US Telco", "USD")
    eur = provider(session, "EU Telco", "EUR")
    usd_rev = revision(session, usd, [("4", "World", 1001),
                                      ("4420", "London", 700, None, None, "blocked")])
    eur_rev = revision(session, eur, [("44", "UK", 950), ("447", "UK mobile", 2000)])
    revision(session, eur, [("44", "UK", 1)], state="archived")  # not used
    card = _card(session, "External", [(usd.id, 0), (eur.id, 0)], "EUR", external=True)
    rev = revision(session, card, [("44", "UK", 1000), ("4420", "London", 1000),
                                   ("447", "Mobile", 1500), ("3", "FR", 100)])
    ref, warnings = tariff_ref(session, card, rev.id, "USD")
    assert warnings == []
    assert ref.external and ref.tree.startswith(f"t{rev.id}x")
    assert ref.provider_revisions == tuple(sorted((usd_rev.id, eur_rev.id)))
    rows = dict(tariff_rows(session, ref, "USD").iter_rows())
    # 1001 USD units x 0.9 = 900.9 -> 901 EUR units (rounded up). 4420: the USD card's
    # longest match is blocked, so it does not serve (no fall-back to its "4").
    assert rows == {
        "3": "100|1|1|0|a||",
        "44": f"1000|1|1|0|a|{usd.id}:901:0;{eur.id}:950:0|1;0",
        "4420": f"1000|1|1|0|a|{eur.id}:950:0|0",
        "447": f"1500|1|1|0|a|{usd.id}:901:0;{eur.id}:2000:1|1;0",
    }
    # a new exchange rate changes the rows, so the tree gets another name
    rate = session.get(ExchangeRate, "EUR")
    assert rate is not None
    rate.per_base = "0.8"
    session.flush()
    assert tariff_ref(session, card, rev.id, "USD")[0].tree != ref.tree


def test_lookup_is_longest_prefix() -> None:
    rows = {"4": "a", "44": "b", "4420": "c"}
    assert lookup(rows, "442071234567") == ("4420", "c")
    assert lookup(rows, "4419") == ("44", "b")
    assert lookup(rows, "49") == ("4", "a")
    assert lookup(rows, "33") is None
    assert lookup(rows, "") is None


def test_external_card_skips_providers_that_cannot_serve(session: Session) -> None:
    served, empty = provider(session, "Served"), provider(session, "Empty")
    exchange_rate(session, "JPY", "150")
    foreign = provider(session, "Foreign", "JPY")
    served_rev = revision(session, served, [("44", "UK", 500)])
    revision(session, foreign, [("44", "UK", 1)])
    card = _card(session, "Ext", [(served.id, 0), (empty.id, 0), (foreign.id, 0)],
                 external=True)
    session.delete(session.get(ExchangeRate, "JPY"))  # the JPY rate is gone since
    session.flush()
    rev = revision(session, card, [("44", "UK", 1000)])
    ref, warnings = tariff_ref(session, card, rev.id, "USD")
    assert ref.provider_revisions == (served_rev.id,)
    assert len(warnings) == 2
    assert "'Empty' has no active revision" in warnings[0]
    assert "'Foreign': no exchange rate between JPY and USD" in warnings[1]
    assert dict(tariff_rows(session, ref, "USD").iter_rows()) == {
        "44": f"1000|1|1|0|a|{served.id}:500:0|0"}

"""/api/v1 rate cards: provider and customer cards, revisions, rates, changes, profit
rules, routing and currencies: good calls, field errors, 404, 409, 401 and 403."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from orchestrator.ratecards.models import ProviderCard
from tests.api.conftest import Api

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def post(api: Api, url: str, body: dict[str, Any] | None = None, user: str = "oscar",
         status: int = 201) -> dict[str, Any]:
    answer = api.client.post(url, headers=api.auth(user), json=body or {})
    assert answer.status_code == status, answer.json
    return dict(answer.json)


def get(api: Api, url: str, user: str = "vera", status: int = 200) -> dict[str, Any]:
    answer = api.client.get(url, headers=api.auth(user))
    assert answer.status_code == status, answer.json
    return dict(answer.json)


def new_provider(api: Api, name: str = "Acme A-Z", currency: str = "USD") -> dict[str, Any]:
    owner = post(api, "/api/v1/carriers", {"name": f"carrier {name}", "currency": currency})
    return post(api, "/api/v1/provider-cards", {"name": name, "carrier_id": owner["id"],
                                                "currency": currency})


def new_customer(api: Api, parents: list[int], name: str = "Retail",
                 **fields: Any) -> dict[str, Any]:
    return post(api, "/api/v1/customer-cards", {
        "name": name, "currency": "USD",
        "parents": [{"provider_card_id": p} for p in parents]} | fields)


def add_revision(api: Api, column: str, card_id: int, rows: list[tuple[Any, ...]],
                 state: str = "active", created_at: datetime = T0) -> int:
    """Rows (prefix, name, rate units[, candidates]) inserted with plain SQL."""
    with api.sessions.begin() as session:
        number = session.scalar(text(f"SELECT COALESCE(MAX(number), 0) + 1 FROM "
                                     f"rate_revisions WHERE {column} = :c"), {"c": card_id})
        rev = session.execute(text(
            f"INSERT INTO rate_revisions ({column}, number, state, created_at, row_count, "
            "source, activated_at) VALUES (:c, :n, :s, :t, :r, 'test', :t) RETURNING id"),
            {"c": card_id, "n": number, "s": state, "t": created_at,
             "r": len(rows)}).scalar_one()
        for prefix, name, rate, *rest in rows:
            session.execute(text(
                "INSERT INTO rates (revision_id, prefix, name, rate, mcd, pulse, connect_fee, "
                "status, candidates) VALUES (:v, :p, :n, :r, 1, 1, 0, 'active', :c)"),
                {"v": rev, "p": prefix, "n": name, "r": rate, "c": rest[0] if rest else None})
    return int(rev)


def test_provider_card_crud(api: Api) -> None:
    card = new_provider(api)
    assert card["currency"] == "USD" and card["active_revision_id"] is None
    assert card["force_presentation"] == "single" and card["dialing"] == "dialled_number"
    url = f"/api/v1/provider-cards/{card['id']}"
    assert get(api, url) == card
    changed = api.client.patch(url, headers=api.auth("oscar"), json={"tech_prefix": "0099",
                                                                    "notes_public": None})
    assert changed.status_code == 200 and changed.json["tech_prefix"] == "0099"
    listing = get(api, f"/api/v1/provider-cards?carrier_id={card['carrier_id']}&q=acme")
    assert listing["total"] == 1 and listing["items"][0]["tech_prefix"] == "0099"
    assert api.client.delete(url, headers=api.auth("oscar")).status_code == 204
    get(api, url, status=404)


def test_provider_card_errors(api: Api) -> None:
    card = new_provider(api)
    bad = post(api, "/api/v1/provider-cards", {"name": "X", "carrier_id": 10**6,
                                               "currency": "XYZ", "tech_prefix": "1a"},
               status=422)
    assert set(bad["errors"]) == {"currency", "tech_prefix"}
    missing_carrier = post(api, "/api/v1/provider-cards", {
        "name": "X", "carrier_id": 10**6, "currency": "USD"}, status=422)
    assert list(missing_carrier["errors"]) == ["carrier_id"]
    dup = post(api, "/api/v1/provider-cards", {"name": "ACME A-Z", "currency": "USD",
                                               "carrier_id": card["carrier_id"]}, status=409)
    assert list(dup["errors"]) == ["name"]
    fixed = api.client.patch(f"/api/v1/provider-cards/{card['id']}", headers=api.auth(),
                             json={"currency": "EUR"})
    assert fixed.status_code == 422 and list(fixed.json["errors"]) == ["currency"]
    carrier_gone = api.client.delete(f"/api/v1/carriers/{card['carrier_id']}",
                                     headers=api.auth())
    assert carrier_gone.status_code == 409 and "Acme A-Z" in carrier_gone.json["message"]
    assert api.client.get("/api/v1/provider-cards").status_code == 401
    viewer = api.client.post("/api/v1/provider-cards", headers=api.auth("vera"), json={})
    assert viewer.status_code == 403
    unknown = get(api, "/api/v1/provider-cards?sort=secret", status=422)
    assert list(unknown["errors"]) == ["sort"]


def test_customer_card_crud_and_parents(api: Api) -> None:
    a, b = new_provider(api, "A"), new_provider(api, "B")
    card = new_customer(api, [a["id"], b["id"]], precision=2, strategy="round_robin")
    assert [p["provider_card_id"] for p in card["parents"]] == [a["id"], b["id"]]
    assert card["precision"] == 2 and card["stale"] is False and card["notice_days"] == 7
    url = f"/api/v1/customer-cards/{card['id']}"
    add_revision(api, "provider_card_id", a["id"], [("44", "UK", 1)])
    assert get(api, url)["stale"] is True  # a parent has rates the card was not built from
    changed = api.client.patch(url, headers=api.auth(), json={
        "parents": [{"provider_card_id": b["id"], "weight": 3, "priority": 1}]})
    assert changed.status_code == 200
    assert changed.json["parents"] == [{"provider_card_id": b["id"], "weight": 3,
                                        "priority": 1, "position": 0}]
    assert get(api, f"/api/v1/customer-cards?provider_card_id={b['id']}")["total"] == 1
    assert get(api, f"/api/v1/customer-cards?provider_card_id={a['id']}")["total"] == 0
    in_use = api.client.delete(f"/api/v1/provider-cards/{b['id']}", headers=api.auth())
    assert in_use.status_code == 409 and "Retail" in in_use.json["message"]
    assert api.client.delete(url, headers=api.auth()).status_code == 204
    assert api.client.delete(f"/api/v1/provider-cards/{b['id']}",
                             headers=api.auth()).status_code == 204


def test_customer_card_errors(api: Api) -> None:
    a = new_provider(api, "A")
    euro = new_provider(api, "Euro", currency="EUR")
    bad = post(api, "/api/v1/customer-cards", {
        "name": "C", "currency": "USD", "precision": 9, "rounding": "odd",
        "parents": [{"provider_card_id": a["id"]}, {"provider_card_id": a["id"],
                                                    "weight": 0}]}, status=422)
    assert set(bad["errors"]) == {"precision", "rounding", "parents.1.provider_card_id",
                                  "parents.1.weight"}
    money = post(api, "/api/v1/customer-cards", {
        "name": "C", "currency": "USD", "parents": [{"provider_card_id": euro["id"]}]},
        status=422)
    assert "EUR" in money["errors"]["parents.0.provider_card_id"][0]
    typed = post(api, "/api/v1/customer-cards", {"name": "C", "currency": "USD",
                                                 "parents": [{"weight": 1}]}, status=422)
    assert list(typed["errors"]) == ["parents.0.provider_card_id"]
    get(api, "/api/v1/customer-cards/999", status=404)
    assert api.client.patch("/api/v1/customer-cards/1", headers=api.auth("vera"),
                            json={}).status_code == 403


def test_revisions_rates_and_changes(api: Api) -> None:
    card = new_provider(api)
    base = f"/api/v1/provider-cards/{card['id']}"
    first = add_revision(api, "provider_card_id", card["id"], [
        ("44", "UK", 1_000_000), ("4420", "London", 900_000), ("33", "France", 500_000)])
    assert get(api, base)["active_revision_id"] == first
    draft = post(api, f"{base}/revisions")
    assert (draft["number"], draft["state"], draft["row_count"]) == (2, "draft", 3)
    with api.sessions.begin() as session:
        session.execute(text("UPDATE rates SET rate = 1200000 WHERE revision_id = :r AND "
                             "prefix = '44'"), {"r": draft["id"]})
        session.execute(text("DELETE FROM rates WHERE revision_id = :r AND prefix = '33'"),
                        {"r": draft["id"]})
    rates = get(api, f"{base}/rates?prefix=44")
    assert rates["revision_id"] == first and rates["total"] == 2
    assert rates["items"][0] == {"prefix": "44", "name": "UK", "rate": "0.01000000",
                                 "inter": None, "intra": None, "mcd": 1, "pulse": 1,
                                 "connect_fee": "0.00000000", "status": "active",
                                 "candidates": []}
    named = get(api, f"{base}/rates?revision={draft['id']}&q=lond")
    assert [r["prefix"] for r in named["items"]] == ["4420"]
    bad = get(api, f"{base}/rates?prefix=4x", status=422)
    assert list(bad["errors"]) == ["prefix"]
    changes = get(api, f"{base}/changes")
    assert changes["revision_id"] == draft["id"] and changes["baseline_revision_id"] == first
    assert changes["counts"] == {"new": 0, "increase": 1, "decrease": 0, "unchanged": 1,
                                 "closed": 1}
    ups = get(api, f"{base}/changes?kind=increase")["items"]
    assert ups == [{"prefix": "44", "name": "UK", "kind": "increase",
                    "old_rate": "0.01000000", "new_rate": "0.01200000", "old_inter": None,
                    "new_inter": None, "old_intra": None, "new_intra": None}]
    assert list(get(api, f"{base}/changes?kind=gone", status=422)["errors"]) == ["kind"]
    listing = get(api, f"{base}/revisions")
    assert [r["number"] for r in listing["items"]] == [2, 1]
    get(api, f"{base}/revisions/{draft['id'] + 100}", status=404)
    activated = post(api, f"{base}/revisions/{draft['id']}/activate", status=200)
    assert activated["state"] == "active" and activated["changes"]["closed"] == 1
    assert get(api, f"{base}/revisions/{first}")["state"] == "archived"
    again = post(api, f"{base}/revisions/{draft['id']}/activate", status=409)
    assert list(again["errors"]) == ["state"]
    not_draft = api.client.delete(f"{base}/revisions/{first}", headers=api.auth())
    assert not_draft.status_code == 409


def test_schedule_and_delete_draft(api: Api) -> None:
    card = new_provider(api)
    base = f"/api/v1/provider-cards/{card['id']}/revisions"
    draft = post(api, base)
    url = f"{base}/{draft['id']}"
    when = "2030-01-01T10:00:00+02:00"
    scheduled = api.client.patch(url, headers=api.auth("oscar"), json={"date_live": when})
    assert scheduled.status_code == 200
    assert scheduled.json["date_live"] == "2030-01-01T08:00:00+00:00"
    bad = api.client.patch(url, headers=api.auth(), json={"date_live": "soon"})
    assert bad.status_code == 422 and list(bad.json["errors"]) == ["date_live"]
    assert api.client.patch(url, headers=api.auth("vera"), json={
        "date_live": None}).status_code == 403
    assert api.client.delete(url, headers=api.auth()).status_code == 204
    get(api, url, status=404)


def test_customer_notice_period_is_enforced(api: Api) -> None:
    parent = new_provider(api)
    card = new_customer(api, [parent["id"]], notice_days=30)
    column = "customer_card_id"
    add_revision(api, column, card["id"], [("44", "UK", 100)], created_at=T0)
    now = datetime.now(UTC)
    raised = add_revision(api, column, card["id"], [("44", "UK", 200)], state="draft",
                          created_at=now)
    refused = post(api, f"/api/v1/customer-cards/{card['id']}/revisions/{raised}/activate",
                   status=409)
    assert list(refused["errors"]) == ["notice_days"]
    assert (now + timedelta(days=30)).date().isoformat() in refused["message"]
    early = api.client.patch(f"/api/v1/customer-cards/{card['id']}/revisions/{raised}",
                             headers=api.auth(), json={"date_live": now.isoformat()})
    assert early.status_code == 422 and list(early.json["errors"]) == ["date_live"]


def test_customer_rates_and_routing(api: Api) -> None:
    a, b = new_provider(api, "A"), new_provider(api, "B")
    card = new_customer(api, [a["id"], b["id"]])
    base = f"/api/v1/customer-cards/{card['id']}"
    get(api, f"{base}/routing?prefix=4420", status=404)  # nothing active yet
    add_revision(api, "customer_card_id", card["id"], [
        ("44", "UK", 2_000_000, f"{a['id']}:1500000"),
        ("4420", "London", 1_000_000, f"{b['id']}:700000,{a['id']}:800000")])
    rates = get(api, f"{base}/rates")
    assert rates["items"][1]["candidates"] == [
        {"provider_card_id": b["id"], "cost": "0.00700000"},
        {"provider_card_id": a["id"], "cost": "0.00800000"}]
    routed = get(api, f"{base}/routing?prefix=442079460000")
    assert routed["prefix"] == "4420" and routed["rate"] == "0.01000000"
    assert [c["provider_card_id"] for c in routed["candidates"]] == [b["id"], a["id"]]
    assert get(api, f"{base}/routing?prefix=4430")["prefix"] == "44"
    get(api, f"{base}/routing?prefix=33", status=404)
    assert list(get(api, f"{base}/routing?prefix=abc", status=422)["errors"]) == ["prefix"]
    assert list(get(api, f"{base}/routing", status=422)["errors"]) == ["prefix"]
    get(api, "/api/v1/customer-cards/9999/routing?prefix=44", status=404)
    assert api.client.get(f"{base}/routing?prefix=44").status_code == 401


def test_profit_rules(api: Api) -> None:
    parent = new_provider(api)
    add_revision(api, "provider_card_id", parent["id"], [
        ("4420", "UK London", 1), ("4421", "UK London", 1), ("49", "Germany", 1)])
    card = new_customer(api, [parent["id"]])
    base = f"/api/v1/customer-cards/{card['id']}/profit-rules"
    rule = post(api, base, {"match": "^44", "value": 10, "connect_fee": "0.01"})
    assert (rule["position"], rule["value"], rule["connect_fee"]) == (0, "10", "0.01")
    assert rule["type"] == "percent" and rule["mcd"] is None
    bad = post(api, base, {"match": "^4(4", "type": "percent", "value": "-101"}, status=422)
    assert set(bad["errors"]) == {"match", "value"}
    typed = post(api, base, {"mcd": "x"}, status=422)
    assert list(typed["errors"]) == ["mcd"]
    imported = post(api, f"{base}/import-from-parents", status=200)
    assert [(r["match"], r["name_override"]) for r in imported["items"]] == [
        ("49", "Germany"), ("^(4420|4421)$", "UK London")]
    moved = post(api, f"{base}/{rule['id']}/move", {"position": 2}, status=200)
    assert [r["id"] for r in moved["items"]][-1] == rule["id"]
    assert [r["position"] for r in moved["items"]] == [0, 1, 2]
    far = post(api, f"{base}/{rule['id']}/move", {"position": 3}, status=422)
    assert list(far["errors"]) == ["position"]
    patched = api.client.patch(f"{base}/{rule['id']}", headers=api.auth(),
                               json={"status": "blocked", "connect_fee": None})
    assert patched.status_code == 200 and patched.json["status"] == "blocked"
    assert patched.json["connect_fee"] is None
    listing = get(api, f"{base}?q=germany")
    assert [r["match"] for r in listing["items"]] == ["49"]
    get(api, f"{base}/{rule['id'] + 100}", status=404)
    assert api.client.delete(f"{base}/{rule['id']}", headers=api.auth("vera")
                             ).status_code == 403
    assert api.client.delete(f"{base}/{rule['id']}", headers=api.auth()).status_code == 204
    assert get(api, base)["total"] == 2


def test_currencies(api: Api) -> None:
    listing = get(api, "/api/v1/currencies")
    assert listing == {"base_currency": "USD", "items": [], "total": 0}
    eur = api.client.put("/api/v1/currencies/eur", headers=api.auth("oscar"),
                         json={"per_base": "0.92"})
    assert eur.status_code == 200 and eur.json["currency"] == "EUR"
    assert eur.json["per_base"] == "0.92"
    bad = api.client.put("/api/v1/currencies/XYZ", headers=api.auth(), json={"per_base": 0})
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"currency", "per_base"}
    upload = api.client.post("/api/v1/currencies/import", headers=api.auth(), data={
        "file": (io.BytesIO(b"currency,per_base\nGBP,0.79\nJPY,150\n"), "rates.csv")},
        content_type="multipart/form-data")
    assert upload.status_code == 200, upload.json
    assert [r["currency"] for r in upload.json["items"]] == ["EUR", "GBP", "JPY"]
    refused = api.client.post("/api/v1/currencies/import", headers=api.auth(), data={
        "file": (io.BytesIO(b"CHF,0.9\nNOK,zero\n"), "rates.csv")},
        content_type="multipart/form-data")
    assert refused.status_code == 422
    assert list(refused.json["errors"]) == ["row 2, column per_base"]
    assert get(api, "/api/v1/currencies")["total"] == 3
    euro = new_provider(api, "Euro", currency="EUR")
    new_customer(api, [euro["id"]])
    in_use = api.client.delete("/api/v1/currencies/EUR", headers=api.auth())
    assert in_use.status_code == 409 and "Retail" in in_use.json["message"]
    assert api.client.delete("/api/v1/currencies/JPY", headers=api.auth()).status_code == 204
    assert api.client.delete("/api/v1/currencies/JPY", headers=api.auth()).status_code == 404
    assert api.client.put("/api/v1/currencies/SEK", headers=api.auth("vera"),
                          json={"per_base": 1}).status_code == 403
    assert api.client.get("/api/v1/currencies").status_code == 401


@pytest.mark.parametrize("url", ["/api/v1/provider-cards/77/revisions",
                                 "/api/v1/customer-cards/77/revisions",
                                 "/api/v1/customer-cards/77/profit-rules",
                                 "/api/v1/provider-cards/77/rates",
                                 "/api/v1/customer-cards/77/changes"])
def test_unknown_card_is_404(api: Api, url: str) -> None:
    assert get(api, url, status=404)["message"].endswith("not found")


def test_audit_records_changes(api: Api) -> None:
    card = new_provider(api)
    with api.sessions() as session:
        assert session.get(ProviderCard, card["id"]) is not None
        kinds = session.scalars(text("SELECT object_type FROM audit_log")).all()
    assert "provider_card" in kinds

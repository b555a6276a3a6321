"""/api/v1/{provider,customer}-cards/{id}/revisions/{rev}/rates and /transform: editing
drafts through the API: good calls, field errors, 404, 409 on non-drafts, 403."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.test_ratecards_api import add_revision, get, new_customer, new_provider, post

ROWS = [("44", "UK", 2_000_000), ("4420", "UK London", 2_500_000),
        ("49", "Germany", 1_500_000)]


def draft_of(api: Api, kind: str) -> tuple[str, int]:
    """A card of ``kind`` with an active revision and a draft copy: (base url, draft id)."""
    if kind == "provider-cards":
        card = new_provider(api)
        column = "provider_card_id"
    else:
        card = new_customer(api, [new_provider(api)["id"]], external=True)
        column = "customer_card_id"
    add_revision(api, column, card["id"], ROWS)
    base = f"/api/v1/{kind}/{card['id']}/revisions"
    draft = post(api, base)
    return base, int(draft["id"])


@pytest.mark.parametrize("kind", ["provider-cards", "customer-cards"])
def test_add_change_delete_rate(api: Api, kind: str) -> None:
    base, draft = draft_of(api, kind)
    url = f"{base}/{draft}/rates"
    row = post(api, url, {"prefix": "33", "name": "France", "rate": "0.0123", "mcd": 30,
                          "pulse": 6, "connect_fee": 0.5})
    assert row == {"prefix": "33", "name": "France", "rate": "0.01230000", "inter": None,
                   "intra": None, "mcd": 30, "pulse": 6, "connect_fee": "0.50000000",
                   "status": "active", "candidates": []}
    assert get(api, f"{base}/{draft}")["row_count"] == 4
    changed = api.client.patch(f"{url}/44", headers=api.auth("oscar"),
                               json={"rate": "0.05", "status": "blocked", "inter": None})
    assert changed.status_code == 200, changed.json
    assert changed.json["rate"] == "0.05000000" and changed.json["status"] == "blocked"
    assert changed.json["name"] == "UK"
    gone = api.client.delete(f"{url}/4420", headers=api.auth("oscar"))
    assert gone.status_code == 204
    card_url = base.rsplit("/", 1)[0]
    page = get(api, f"{card_url}/rates?revision={draft}")
    assert [(r["prefix"], r["rate"]) for r in page["items"]] == [
        ("33", "0.01230000"), ("44", "0.05000000"), ("49", "0.01500000")]
    assert get(api, f"{base}/{draft}")["row_count"] == 3


def test_rate_errors(api: Api) -> None:
    base, draft = draft_of(api, "provider-cards")
    url = f"{base}/{draft}/rates"
    bad = api.client.post(url, headers=api.auth("oscar"),
                          json={"prefix": "+44", "rate": "0.123456789", "mcd": 0,
                                "status": "off"})
    assert bad.status_code == 422
    assert set(bad.json["errors"]) == {"prefix", "rate", "mcd", "status"}
    duplicate = api.client.post(url, headers=api.auth("oscar"), json={"prefix": "44",
                                                                       "rate": "1"})
    assert duplicate.status_code == 422 and "already" in duplicate.json["errors"]["prefix"][0]
    missing = api.client.post(url, headers=api.auth("oscar"), json={"prefix": "7"})
    assert missing.status_code == 422 and "rate" in missing.json["errors"]
    assert api.client.patch(f"{url}/999", headers=api.auth("oscar"),
                            json={"rate": "1"}).status_code == 404
    assert api.client.delete(f"{url}/999", headers=api.auth("oscar")).status_code == 404
    assert api.client.post(f"{base}/9999/rates", headers=api.auth("oscar"),
                           json={"prefix": "7", "rate": "1"}).status_code == 404
    viewer = api.client.post(url, headers=api.auth("vera"), json={"prefix": "7",
                                                                   "rate": "1"})
    assert viewer.status_code == 403
    assert api.client.delete(f"{url}/44", headers=api.auth("vera")).status_code == 403
    assert api.client.post(url, json={"prefix": "7", "rate": "1"}).status_code == 401


def test_non_draft_is_409(api: Api) -> None:
    card = new_provider(api)
    active = add_revision(api, "provider_card_id", card["id"], ROWS)
    url = f"/api/v1/provider-cards/{card['id']}/revisions/{active}"
    body: dict[str, Any] = {"filter": {}, "change": {"type": "set_rate", "value": "1"}}
    answers = [
        api.client.post(f"{url}/rates", headers=api.auth("oscar"),
                        json={"prefix": "7", "rate": "1"}),
        api.client.patch(f"{url}/rates/44", headers=api.auth("oscar"), json={"rate": "1"}),
        api.client.delete(f"{url}/rates/44", headers=api.auth("oscar")),
        api.client.post(f"{url}/transform/preview", headers=api.auth("oscar"), json=body),
        api.client.post(f"{url}/transform", headers=api.auth("oscar"), json=body),
    ]
    for answer in answers:
        assert answer.status_code == 409, answer.json
        assert "only a draft" in answer.json["errors"]["state"][0]
    page = get(api, f"/api/v1/provider-cards/{card['id']}/rates")
    assert page["items"][0]["rate"] == "0.02000000"


@pytest.mark.parametrize("kind", ["provider-cards", "customer-cards"])
def test_transform_preview_and_apply(api: Api, kind: str) -> None:
    base, draft = draft_of(api, kind)
    body = {"filter": {"prefix": "^44", "rate_min": None},
            "change": {"type": "multiply_rate", "value": "1.1", "mcd": None}}
    preview = post(api, f"{base}/{draft}/transform/preview", body, status=200)
    assert preview["count"] == 2
    assert [(s["prefix"], s["before"]["rate"], s["after"]["rate"])
            for s in preview["sample"]] == [("44", "0.02000000", "0.02200000"),
                                            ("4420", "0.02500000", "0.02750000")]
    done = post(api, f"{base}/{draft}/transform", body, status=200)
    assert done == {"count": preview["count"]}
    card_url = base.rsplit("/", 1)[0]
    rates = {r["prefix"]: r["rate"] for r in get(api, f"{card_url}/rates?revision={draft}")
             ["items"]}
    assert rates == {"44": "0.02200000", "4420": "0.02750000", "49": "0.01500000"}
    billing = post(api, f"{base}/{draft}/transform", {
        "filter": {"name": "germ"}, "change": {"type": "set_billing", "mcd": 60,
                                               "pulse": 60}}, status=200)
    assert billing == {"count": 1}


def test_transform_errors(api: Api) -> None:
    base, draft = draft_of(api, "provider-cards")
    url = f"{base}/{draft}/transform"
    bad = api.client.post(url, headers=api.auth("oscar"), json={
        "filter": {"prefix": "(?=4)", "status": "x"},
        "change": {"type": "add_rate", "value": "0.000000001"}})
    assert bad.status_code == 422
    assert set(bad.json["errors"]) == {"filter.prefix", "filter.status", "change.value"}
    below = api.client.post(url, headers=api.auth("oscar"), json={
        "change": {"type": "add_rate", "value": "-0.016"}})
    assert below.status_code == 422 and "below 0" in below.json["errors"]["change.value"][0]
    no_change = api.client.post(url, headers=api.auth("oscar"), json={"filter": {}})
    assert no_change.status_code == 422 and "change" in no_change.json["errors"]
    viewer = api.client.post(f"{url}/preview", headers=api.auth("vera"), json={
        "change": {"type": "set_status", "status": "blocked"}})
    assert viewer.status_code == 403
    card_url = base.rsplit("/", 1)[0]
    assert [r["rate"] for r in get(api, f"{card_url}/rates?revision={draft}")["items"]] == [
        "0.02000000", "0.02500000", "0.01500000"]

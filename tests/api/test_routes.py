"""/api/v1/customers/{id}/routes: CRUD, 422 naming fields, 404, 409, 401, roles, guards."""

from __future__ import annotations

from typing import Any

from orchestrator.routing.models import IngressRoute
from tests.api.conftest import Api
from tests.api.test_ratecards_api import get, new_customer, new_provider, post


def setup(api: Api) -> tuple[str, int, list[int]]:
    """(routes url of a USD customer, a USD tariff id, two provider card ids)."""
    customer = post(api, "/api/v1/customers", {"name": "Acme", "currency": "USD"})
    cards = [new_provider(api, "Telco A")["id"], new_provider(api, "Telco B")["id"]]
    tariff = new_customer(api, [cards[0]])
    return f"/api/v1/customers/{customer['id']}/routes", int(tariff["id"]), cards


def test_route_crud_and_list(api: Api) -> None:
    base, tariff, cards = setup(api)
    created = post(api, base, {"tariff_id": tariff, "tech_prefix": "0077", "name": "main",
                               "dial_string": "44\n^1(204|226)", "cps": 5,
                               "lock_cards": [cards[1]], "rtp_proxy": "direct"})
    assert created["tech_prefix"] == "0077" and created["dial_string"] == ["44",
                                                                           "^1(204|226)"]
    assert created["lock_cards"] == [cards[1]] and created["exclude_cards"] == []
    assert created["strategy"] is None and created["enabled"] is True
    assert created["sip_ping"] == "disabled" and created["rtp_proxy_mode"] == "relaxed"
    assert created["customer_id"] == int(base.split("/")[4])
    plain = post(api, base, {"tariff_id": tariff, "priority": 3,
                             "dial_string": ["49", "33"]})
    assert plain["dial_string"] == ["49", "33"] and plain["tech_prefix"] == ""

    listing = get(api, base)
    assert listing["total"] == 2
    assert [r["id"] for r in listing["items"]] == [created["id"], plain["id"]]
    by_priority = get(api, f"{base}?sort=-priority")
    assert [r["id"] for r in by_priority["items"]] == [plain["id"], created["id"]]
    found = get(api, f"{base}?q=0077")
    assert [r["id"] for r in found["items"]] == [created["id"]]
    bad_sort = api.client.get(f"{base}?sort=secret", headers=api.auth())
    assert bad_sort.status_code == 422 and list(bad_sort.json["errors"]) == ["sort"]

    url = f"{base}/{created['id']}"
    assert get(api, url) == created
    patched = api.client.patch(url, headers=api.auth("oscar"),
                               json={"cps": 9, "name": None, "strategy": "random"})
    assert patched.status_code == 200, patched.json
    assert patched.json["cps"] == 9 and patched.json["name"] == "main"
    assert patched.json["strategy"] == "random"
    cleared = api.client.patch(url, headers=api.auth(), json={"strategy": None})
    assert cleared.json["strategy"] is None

    assert api.client.delete(url, headers=api.auth()).status_code == 204
    assert api.client.delete(url, headers=api.auth()).status_code == 404
    assert api.client.get(url, headers=api.auth()).status_code == 404
    with api.sessions() as session:
        assert [r.id for r in session.query(IngressRoute)] == [plain["id"]]


def test_bad_input_is_a_422_naming_each_field(api: Api) -> None:
    base, tariff, cards = setup(api)
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({}, ["tariff_id"]),
        ({"tariff_id": tariff, "tech_prefix": "7a", "cps": -1}, ["cps", "tech_prefix"]),
        ({"tariff_id": tariff, "sip_ping": "often"}, ["sip_ping"]),
        ({"tariff_id": tariff, "lock_cards": [cards[0]], "exclude_cards": [cards[1]]},
         ["exclude_cards", "lock_cards"]),
        ({"tariff_id": tariff, "exclude_cards": [987654]}, ["exclude_cards"]),
        ({"tariff_id": 987654}, ["tariff_id"]),
        ({"tariff_id": tariff, "enabled": "perhaps"}, ["enabled"]),
        ({"tariff_id": tariff, "strategy": "best"}, ["strategy"]),
        ({"tariff_id": tariff, "rtp_proxy_mode": "loose"}, ["rtp_proxy_mode"]),
        ({"tariff_id": tariff, "unknown": 1}, ["unknown"]),
    ]
    for body, fields in cases:
        answer = api.client.post(base, headers=api.auth(), json=body)
        assert answer.status_code == 422, body
        assert sorted(answer.json["errors"]) == fields, (body, answer.json)
    line = api.client.post(base, headers=api.auth(),
                           json={"tariff_id": tariff, "dial_string": ["1", "2", "(3"]})
    assert line.status_code == 422
    assert line.json["errors"]["dial_string"][0].startswith("line 3:")
    assert get(api, base)["total"] == 0


def test_tariff_in_another_currency_is_a_422(api: Api) -> None:
    base, _, _ = setup(api)
    eur = post(api, "/api/v1/customer-cards", {"name": "Retail EUR", "currency": "EUR",
                                               "parents": []})
    answer = api.client.post(base, headers=api.auth(), json={"tariff_id": eur["id"]})
    assert answer.status_code == 422
    assert "EUR" in answer.json["errors"]["tariff_id"][0]
    assert "USD" in answer.json["errors"]["tariff_id"][0]


def test_same_tech_prefix_and_priority_is_a_409(api: Api) -> None:
    base, tariff, _ = setup(api)
    first = post(api, base, {"tariff_id": tariff, "tech_prefix": "1", "priority": 2})
    clash = api.client.post(base, headers=api.auth(),
                            json={"tariff_id": tariff, "tech_prefix": "1", "priority": 2})
    assert clash.status_code == 409 and list(clash.json["errors"]) == ["priority"]
    spare = post(api, base, {"tariff_id": tariff, "tech_prefix": "1", "priority": 2,
                             "enabled": False})
    enable = api.client.patch(f"{base}/{spare['id']}", headers=api.auth(),
                              json={"enabled": True})
    assert enable.status_code == 409
    assert str(first["id"]) in enable.json["errors"]["priority"][0]


def test_used_cards_cannot_be_deleted(api: Api) -> None:
    base, tariff, cards = setup(api)
    route = post(api, base, {"tariff_id": tariff, "exclude_cards": [cards[1]]})
    card = api.client.delete(f"/api/v1/customer-cards/{tariff}", headers=api.auth())
    assert card.status_code == 409 and str(route["id"]) in card.json["errors"]["id"][0]
    provider = api.client.delete(f"/api/v1/provider-cards/{cards[1]}", headers=api.auth())
    assert provider.status_code == 409
    assert "exclude list" in provider.json["errors"]["id"][0]


def test_unknown_customer_or_route_is_a_404(api: Api) -> None:
    base, tariff, _ = setup(api)
    other = post(api, "/api/v1/customers", {"name": "Other", "currency": "USD"})
    route = post(api, base, {"tariff_id": tariff})
    foreign = f"/api/v1/customers/{other['id']}/routes/{route['id']}"
    assert api.client.get(foreign, headers=api.auth()).status_code == 404
    assert api.client.patch(foreign, headers=api.auth(), json={"cps": 1}).status_code == 404
    assert api.client.delete(foreign, headers=api.auth()).status_code == 404
    missing = "/api/v1/customers/999999/routes"
    assert api.client.get(missing, headers=api.auth()).status_code == 404
    assert api.client.post(missing, headers=api.auth(),
                           json={"tariff_id": tariff}).status_code == 404
    assert get(api, base)["total"] == 1


def test_auth_and_roles(api: Api) -> None:
    base, tariff, _ = setup(api)
    route = post(api, base, {"tariff_id": tariff})
    url = f"{base}/{route['id']}"
    writes = (("post", base, {"tariff_id": tariff, "priority": 1}),
              ("patch", url, {"cps": 3}), ("delete", url, None))
    reads = (("get", base, None), ("get", url, None))
    for method, path, body in (*writes, *reads):
        answer = getattr(api.client, method)(path, json=body)
        assert answer.status_code == 401, (method, path)
    for method, path, body in writes:
        answer = getattr(api.client, method)(path, headers=api.auth("vera"), json=body)
        assert answer.status_code == 403, (method, path)
    assert get(api, base, user="vera")["total"] == 1
    assert get(api, url, user="vera")["cps"] == 0

"""The header policy fields of the customer and carrier forms (docs/header-policy.md),
posted without script: shown with their values, saved, refused with the field named."""

from __future__ import annotations

import secrets

import pytest

from orchestrator.actor import SYSTEM
from orchestrator.carriers.models import Carrier
from orchestrator.carriers.service import create_carrier
from orchestrator.customers.models import Customer
from orchestrator.customers.service import create_customer
from tests.web.helpers import WebApp, csrf_token, sign_in

pytestmark = pytest.mark.web


def test_customer_form_sets_the_header_policy(web_down: WebApp) -> None:
    name = f"Headers {secrets.token_hex(3)}"
    with web_down.sessions.begin() as session:
        customer_id = create_customer(session, SYSTEM, {"name": name, "currency": "USD"}).id
    client, _ = sign_in(web_down)
    url = web_down.url(f"/customers/{customer_id}/edit")
    form = client.get(url, timeout=10).text
    assert 'value="Diversion, History-Info, Remote-Party-ID"' in form
    assert '<option value="accept" selected>' in form
    base = {"csrf_token": csrf_token(form), "name": name, "status": "active"}
    saved = client.post(url, timeout=10, allow_redirects=False,
                        data=base | {"pass_headers": "X-Foo, diversion", "pai": "require"})
    assert saved.status_code == 302
    refused = client.post(url, timeout=10, allow_redirects=False,
                          data=base | {"pass_headers": "X-Foo, P-Other", "pai": "remove"})
    assert refused.status_code == 422
    assert "is not filtered by the switch" in refused.text
    with web_down.sessions() as session:
        customer = session.get(Customer, customer_id)
        assert customer is not None
        assert (customer.pass_headers, customer.pai) == ("Diversion, X-Foo", "require")
    again = client.get(url, timeout=10).text
    assert 'value="Diversion, X-Foo"' in again
    assert '<option value="require" selected>' in again
    detail = client.get(web_down.url(f"/customers/{customer_id}"), timeout=10).text
    assert 'data-testid="pass-headers">Diversion, X-Foo<' in detail


def test_carrier_form_sets_the_header_policy(web_down: WebApp) -> None:
    name = f"Headers {secrets.token_hex(3)}"
    with web_down.sessions.begin() as session:
        carrier_id = create_carrier(session, SYSTEM, {"name": name, "currency": "EUR"}).id
    client, _ = sign_in(web_down)
    url = web_down.url(f"/carriers/{carrier_id}/edit")
    form = client.get(url, timeout=10).text
    assert '<option value="yes" selected>' in form
    saved = client.post(url, timeout=10, allow_redirects=False,
                        data={"csrf_token": csrf_token(form), "name": name,
                              "status": "active", "pass_headers": "", "trust_pai": "no"})
    assert saved.status_code == 302
    with web_down.sessions() as session:
        carrier = session.get(Carrier, carrier_id)
        assert carrier is not None
        assert (carrier.pass_headers, carrier.trust_pai) == ("", False)
    assert '<option value="no" selected>' in client.get(url, timeout=10).text
    detail = client.get(web_down.url(f"/carriers/{carrier_id}"), timeout=10).text
    assert 'data-testid="pass-headers">none<' in detail and "removed (untrusted)" in detail

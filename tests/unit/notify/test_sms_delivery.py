"""SMS through the notify.deliver job and a real huey consumer to a local HTTP gateway:
form and JSON bodies, basic and bearer auth headers, the Twilio preset's To/From/Body
form, and a gateway answering 500 (retried, then failed with its answer)."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs

from tests.support.mail import sms_gateway
from tests.unit.notify.world import ATTEMPTS, World

TEXT = "Your code is 123456 & it's valid 10 min"


def test_form_body_with_basic_auth(world: World) -> None:
    with sms_gateway() as gateway:
        world.set_sms(url=gateway.url + "/send", auth="basic", username="acme",
                      password="pa:ss word", sender="Switch")
        found = world.wait(world.sms("+447400123456", TEXT))
        [request] = gateway.requests
    assert found["status"] == "sent" and found["attempts"] == 1
    assert (request.method, request.path) == ("POST", "/send")
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.body.decode()) == {"to": ["+447400123456"], "text": [TEXT],
                                               "from": ["Switch"]}
    token = base64.b64encode(b"acme:pa:ss word").decode()
    assert request.headers["Authorization"] == f"Basic {token}"


def test_json_body_with_bearer_token(world: World) -> None:
    with sms_gateway() as gateway:
        world.set_sms(url=gateway.url + "/v1/messages", content_type="json",
                      body_template='{"recipient": "{to}", "message": "{text}", '
                                    '"originator": "{from}", "type": "text"}',
                      auth="bearer", password="tok-123", sender="ACME")
        quoted = 'He said "hi"\nbye'
        found = world.wait(world.sms("+15005550006", quoted))
        [request] = gateway.requests
    assert found["status"] == "sent"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Authorization"] == "Bearer tok-123"
    assert json.loads(request.body) == {"recipient": "+15005550006", "message": quoted,
                                        "originator": "ACME", "type": "text"}


def test_twilio_preset_sends_to_from_body(world: World) -> None:
    with sms_gateway() as gateway:
        world.set_sms(preset="twilio", url=gateway.url + "/2010-04-01/Accounts/AC123/"
                      "Messages.json", username="AC123", password="auth-token",
                      sender="+15005550006")
        found = world.wait(world.sms("+447400123456", TEXT))
        [request] = gateway.requests
    assert found["status"] == "sent"
    assert request.path == "/2010-04-01/Accounts/AC123/Messages.json"
    assert parse_qs(request.body.decode()) == {"To": ["+447400123456"],
                                               "From": ["+15005550006"], "Body": [TEXT]}
    token = base64.b64encode(b"AC123:auth-token").decode()
    assert request.headers["Authorization"] == f"Basic {token}"


def test_get_with_the_values_in_the_url(world: World) -> None:
    with sms_gateway() as gateway:
        world.set_sms(url=gateway.url + "/send?dest={to}&msg={text}", method="GET")
        found = world.wait(world.sms("+447400123456", "a b&c"))
        [request] = gateway.requests
    assert found["status"] == "sent" and request.method == "GET"
    assert request.path == "/send?dest=%2B447400123456&msg=a%20b%26c"


def test_gateway_error_is_retried_then_failed_with_its_answer(world: World) -> None:
    with sms_gateway() as gateway:
        gateway.status, gateway.answer = 500, '{"code": 30001, "message": "Queue overflow"}'
        world.set_sms(url=gateway.url + "/send")
        found = world.wait(world.sms("+447400123456", TEXT))
        assert len(gateway.requests) == ATTEMPTS
    error = 'gateway answered HTTP 500: {"code": 30001, "message": "Queue overflow"}'
    assert found["status"] == "failed" and found["attempts"] == ATTEMPTS
    assert found["last_error"] == error
    job = world.job(found["job_id"])
    assert job.state == "failed"
    assert job.message == (f"sms to +447400123456 not delivered after {ATTEMPTS} attempts: "
                           f"{error}")


def test_gateway_down_is_a_clear_error(world: World) -> None:
    with sms_gateway() as gateway:
        url = gateway.url
    world.set_sms(url=url + "/send")  # the gateway has stopped: nothing listens
    found = world.wait(world.sms("+447400123456", TEXT))
    assert found["status"] == "failed"
    assert found["last_error"] == f"gateway {url} not reached: connection refused"

"""Email a customer card: the email goes through a real SMTP server (aiosmtpd) by the
real delivery job; the attachment is opened and compared row by row with the card, the
body's change summary with the revisions sent before."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from orchestrator.customers import service as customers
from orchestrator.errors import NotFound, PermissionDenied, ValidationFailed
from orchestrator.notify.models import Message
from orchestrator.ratecards import card_email
from orchestrator.ratecards.card_email_summary import MAX_LINES
from orchestrator.ratecards.models import CardEmail
from tests.support.mail import attachments, body_text
from tests.support.ports import free_port
from tests.unit.ratecards.card_email_support import (
    BASE,
    OPERATOR,
    T1,
    T2,
    T3,
    VIEWER,
    Row,
    World,
    card_rates,
    changed,
    csv_rates,
    go_live,
    mail_world,
    make_card,
    wait_sent,
    xlsx_rates,
)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with mail_world(tmp_path) as found:
        yield found


def _card(world: World, rows: list[Row] = BASE) -> tuple[int, int]:
    with world.sessions.begin() as session:
        card = make_card(session)
        revision = go_live(session, card, rows, T1)
        return card.id, revision.id


def _send(world: World, card_id: int, addresses: object, fmt: str = "csv") -> list[int]:
    with world.sessions.begin() as session:
        rows = card_email.email_card(session, OPERATOR, card_id, addresses, fmt)
        return [r.id for r in rows]


def test_csv_card_arrives_with_every_rate_and_is_recorded(world: World) -> None:
    card_id, revision_id = _card(world)
    [send_id] = _send(world, card_id, ["Buyer@Example.COM"], "csv")
    [message] = world.inbox.wait(1)
    assert message["To"] == "buyer@example.com"
    assert message["Subject"] == "Rate card Retail Premium (USD), effective 2026-11-02"
    text = body_text(message)
    assert "Attached is the rate card Retail Premium (USD): 5 prefixes, effective " \
           "2026-11-02 09:30 UTC (revision 1)." in text
    assert "This is the first card sent to you: 5 prefixes." in text
    [(filename, content)] = attachments(message)
    assert filename == "Retail_Premium-20261102.csv"
    with world.sessions() as session:
        assert csv_rates(content) == card_rates(session, revision_id)
        assert len(card_rates(session, revision_id)) == 5
    [sent] = wait_sent(world, 1)
    assert sent.status == "sent" and sent.purpose == "rate_card"
    with world.sessions() as session:
        page = card_email.list_card_emails(session, VIEWER, card_id)
    assert page.total == 1
    [row] = page.items
    assert row["id"] == send_id and row["address"] == "buyer@example.com"
    assert row["format"] == "csv" and row["status"] == "sent" and row["sent_at"]
    assert row["message_id"] == sent.id and row["revision_number"] == 1
    assert row["changes"]["first"] is True and row["changes"]["new"] == 5


def test_xlsx_attachment_matches_the_card_row_by_row(world: World) -> None:
    card_id, revision_id = _card(world)
    _send(world, card_id, "noc@carrier.example", "xlsx")
    [message] = world.inbox.wait(1)
    [(filename, content)] = attachments(message)
    assert filename == "Retail_Premium-20261102.xlsx"
    assert content[:2] == b"PK"
    [part] = list(message.iter_attachments())
    assert part.get_content_type() == \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    with world.sessions() as session:
        expected = card_rates(session, revision_id)
    got = xlsx_rates(content)
    assert len(got) == len(expected) == 5
    for mine, theirs in zip(got, expected, strict=True):
        assert mine == theirs


def _line(text: str, kind: str, prefix: str) -> str:
    found = [line for line in text.splitlines()
             if re.match(rf"^{kind}\s+{prefix}\s", line)]
    assert len(found) == 1, f"no single {kind} line for {prefix} in:\n{text}"
    return found[0]


def test_second_send_lists_each_change_with_its_effective_date(world: World) -> None:
    card_id, _ = _card(world)
    _send(world, card_id, ["a@example.com"])
    world.inbox.wait(1)
    rows = changed(BASE, p44="0.0200", p4420="0.0070")       # increase, decrease
    rows = [r for r in rows if r[0] != "447"]                 # closed
    rows.append(("4479", "UK Mobile Premium", "0.2500", 1, 1, "0", "active"))  # new
    with world.sessions.begin() as session:
        card = session.get(card_email.CustomerCard, card_id)
        assert card is not None
        go_live(session, card, rows, T2)
    _send(world, card_id, ["a@example.com", "b@example.com"])
    messages = world.inbox.wait(3)
    by_to = {m["To"]: body_text(m) for m in messages[1:]}
    second = by_to["a@example.com"]
    assert "Changes since the card sent to you on " in second and "(revision 1):" in second
    assert "new: 1, increased: 1, decreased: 1, closed: 1, unchanged: 2" in second
    assert re.search(r"increased\s+44\s+United Kingdom\s+0\.0100\s+0\.0200\s+2026-11-09",
                     _line(second, "increased", "44"))
    assert re.search(r"0\.0080\s+0\.0070\s+2026-11-09$", _line(second, "decreased", "4420"))
    assert re.search(r"UK Mobile\s+0\.0500\s+-\s+2026-11-09$", _line(second, "closed", "447"))
    assert re.search(r"-\s+0\.2500\s+2026-11-09$", _line(second, "new", "4479"))
    assert "unchanged " not in second.split("Effective")[1]  # unchanged rows not listed
    assert "This is the first card sent to you: 5 prefixes." in by_to["b@example.com"]
    with world.sessions() as session:
        history = card_email.list_card_emails(session, VIEWER, card_id).items
    assert [h["address"] for h in history] == ["b@example.com", "a@example.com",
                                               "a@example.com"]
    assert history[1]["changes"] == {"new": 1, "increase": 1, "decrease": 1,
                                     "unchanged": 2, "closed": 1, "first": False,
                                     "since_revision": 1}


def test_changes_over_several_revisions_get_the_date_each_went_live(world: World) -> None:
    card_id, _ = _card(world)
    _send(world, card_id, ["a@example.com"])
    with world.sessions.begin() as session:
        card = session.get(card_email.CustomerCard, card_id)
        assert card is not None
        go_live(session, card, changed(BASE, p44="0.0200"), T2)
        go_live(session, card, changed(BASE, p44="0.0200", p33="0.0100"), T3)
    with world.sessions() as session:
        preview = card_email.preview(session, VIEWER, card_id, "A@example.com")
    text = preview["body"]
    assert preview["address"] == "a@example.com"
    assert "new: 0, increased: 1, decreased: 1, closed: 0, unchanged: 3" in text
    assert _line(text, "increased", "44").endswith("2026-11-09")
    assert _line(text, "decreased", "33").endswith("2026-11-16")
    assert preview["filename"] == "Retail_Premium-20261116.csv"


def test_one_send_to_addresses_with_different_last_copies(world: World) -> None:
    """Summaries are computed once per pair of revisions and shared between addresses
    (and bulk customers): each address must still get the changes since ITS copy."""
    card_id, _ = _card(world)
    _send(world, card_id, ["a@example.com", "b@example.com"])         # both get rev 1
    with world.sessions.begin() as session:
        card = session.get(card_email.CustomerCard, card_id)
        assert card is not None
        go_live(session, card, changed(BASE, p44="0.0200"), T2)
    _send(world, card_id, ["c@example.com"])                          # c gets rev 2
    with world.sessions.begin() as session:
        card = session.get(card_email.CustomerCard, card_id)
        assert card is not None
        go_live(session, card, changed(BASE, p44="0.0200", p33="0.0100"), T3)
    _send(world, card_id, ["a@example.com", "c@example.com", "b@example.com"])
    by_to = {m["To"]: body_text(m) for m in world.inbox.wait(6)[3:]}
    for since_first in ("a@example.com", "b@example.com"):   # rev 1 -> 3: 44 up, 33 down
        assert "increased: 1, decreased: 1" in by_to[since_first], since_first
    assert "increased: 0, decreased: 1" in by_to["c@example.com"]  # rev 2 -> 3: 33 only
    assert "(revision 2):" in by_to["c@example.com"]


def test_an_unchanged_card_says_so(world: World) -> None:
    card_id, _ = _card(world)
    _send(world, card_id, ["a@example.com"])
    _send(world, card_id, ["a@example.com"])
    second = body_text(world.inbox.wait(2)[1])
    assert "new: 0, increased: 0, decreased: 0, closed: 0, unchanged: 5" in second
    assert "No rate has changed." in second


def test_the_listing_stops_at_its_limit_and_says_how_many_more(world: World) -> None:
    many = [(f"1{n:04d}", f"Zone {n}", "0.0100", 1, 1, "0", "active")
            for n in range(MAX_LINES + 30)]
    card_id, _ = _card(world, many)
    _send(world, card_id, ["a@example.com"])
    with world.sessions.begin() as session:
        card = session.get(card_email.CustomerCard, card_id)
        assert card is not None
        go_live(session, card, [(p, n, "0.0200", m, u, f, s) for p, n, _, m, u, f, s in many],
                T2)
    with world.sessions() as session:
        text = card_email.preview(session, VIEWER, card_id, "a@example.com")["body"]
    listed = [line for line in text.splitlines() if line.startswith("increased ")]
    assert len(listed) == MAX_LINES
    assert "... and 30 more changes not listed here: the attached card has every rate." \
        in text


def _nothing_recorded(world: World) -> None:
    with world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CardEmail)) == 0
        assert session.scalar(select(func.count()).select_from(Message)) == 0


@pytest.mark.parametrize(("addresses", "fmt", "field", "words"), [
    (["ok@example.com", "not-an-address"], "csv", "addresses", "'not-an-address' is not"),
    ([], "csv", "addresses", "give 1 to 20"),
    ([f"u{n}@example.com" for n in range(21)], "csv", "addresses", "(21 given)"),
    ("a@example.com", "pdf", "format", "must be one of: csv, xlsx"),
    ("", "pdf", "addresses", "give 1 to 20"),
])
def test_bad_input_names_the_field_and_queues_nothing(
        world: World, addresses: object, fmt: str, field: str, words: str) -> None:
    card_id, _ = _card(world)
    with pytest.raises(ValidationFailed) as info, world.sessions.begin() as session:
        card_email.email_card(session, OPERATOR, card_id, addresses, fmt)
    assert words in " ".join(info.value.errors[field])
    _nothing_recorded(world)


def test_duplicates_count_once(world: World) -> None:
    card_id, _ = _card(world)
    ids = _send(world, card_id, "a@example.com, A@Example.com; b@example.com a@example.com")
    assert len(ids) == 2
    assert sorted(m["To"] for m in world.inbox.wait(2)) == ["a@example.com", "b@example.com"]


def test_unknown_card_and_card_without_active_revision(world: World) -> None:
    with pytest.raises(NotFound), world.sessions.begin() as session:
        card_email.email_card(session, OPERATOR, 999, ["a@example.com"], "csv")
    with world.sessions.begin() as session:
        card_id = make_card(session, name="Empty").id
    with pytest.raises(ValidationFailed) as info, world.sessions.begin() as session:
        card_email.email_card(session, OPERATOR, card_id, ["a@example.com"], "csv")
    assert info.value.errors == {"card": ["the card has no active revision: build or "
                                          "activate one first"]}
    _nothing_recorded(world)


def test_a_viewer_cannot_send(world: World) -> None:
    card_id, _ = _card(world)
    with pytest.raises(PermissionDenied), world.sessions.begin() as session:
        card_email.email_card(session, VIEWER, card_id, ["a@example.com"], "csv")
    _nothing_recorded(world)


def test_an_address_of_a_customer_is_greeted_and_filed_under_it(world: World) -> None:
    card_id, _ = _card(world)
    with world.sessions.begin() as session:
        acme = customers.create_customer(session, OPERATOR, {
            "name": "Acme Telecom", "currency": "USD", "email": "NOC@acme.example"}).id
        customers.create_customer(session, OPERATOR, {
            "name": "Twin One", "currency": "USD", "email": "shared@twins.example"})
        customers.create_customer(session, OPERATOR, {
            "name": "Twin Two", "currency": "USD", "email": "shared@twins.example"})
    _send(world, card_id, ["noc@acme.example", "shared@twins.example"])
    bodies = {m["To"]: body_text(m) for m in world.inbox.wait(2)}
    assert bodies["noc@acme.example"].splitlines()[0] == "Dear Acme Telecom,"
    # two customers have that address: greeted by neither, filed under neither
    assert bodies["shared@twins.example"].splitlines()[0] == "Hello,"
    with world.sessions() as session:
        filed = {m.recipient: m.customer_id for m in session.scalars(select(Message))}
    assert filed == {"noc@acme.example": acme, "shared@twins.example": None}


def test_a_send_that_failed_is_not_the_baseline(world: World) -> None:
    card_id, _ = _card(world)
    _send(world, card_id, ["a@example.com"])
    wait_sent(world, 1)
    with world.sessions.begin() as session:
        card = session.get(card_email.CustomerCard, card_id)
        assert card is not None
        go_live(session, card, changed(BASE, p44="0.0200"), T2)
    _send(world, card_id, ["a@example.com"])
    wait_sent(world, 2)
    with world.sessions.begin() as session:  # as if every attempt of the second had failed
        second = session.scalars(select(Message).order_by(Message.id.desc())).first()
        assert second is not None and second.status == "sent"
        second.status = "failed"
    with world.sessions() as session:
        text = card_email.preview(session, VIEWER, card_id, "a@example.com")["body"]
    assert "(revision 1):" in text  # compared with what the address did receive
    assert _line(text, "increased", "44").endswith("2026-11-09")


def test_smtp_down_the_send_is_recorded_failed_and_not_a_baseline(tmp_path: Path) -> None:
    with mail_world(tmp_path, smtp_port=free_port()) as down:
        card_id, _ = _card(down)
        _send(down, card_id, ["a@example.com"])
        [message] = wait_sent(down, 1, timeout=20)
        assert message.status == "failed" and message.attempts == 2
        with down.sessions() as session:
            [row] = card_email.list_card_emails(session, VIEWER, card_id).items
            again = card_email.preview(session, VIEWER, card_id, "a@example.com")
        assert row["status"] == "failed" and row["last_error"]
        assert row["message_id"] == message.id
        assert "This is the first card sent to you" in again["body"]
        assert down.inbox.messages == []

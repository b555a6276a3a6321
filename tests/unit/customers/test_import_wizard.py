"""The CSV import wizard's steps through Flask's test client (no browser): guessing the
columns, refusing bad files and bad mappings, keeping the file server-side, roles."""

from __future__ import annotations

import io
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.audit.models import AuditEntry
from orchestrator.customers.models import Customer
from orchestrator.db import make_engine, session_factory
from orchestrator.users.service import create_user
from tests.support.dataplane import test_settings as settings_for
from webui import create_app
from webui.customers import import_store, importer

PASSWORD = "correct horse battery staple"

GOOD = ("Company Name,E_Mail,CURRENCY,Town\r\n"
        "Alpha Tel,noc@alpha.example,usd,Leeds\r\n"
        "Beta Voice,ops@beta.example,EUR,York\r\n")


@dataclass
class Wizard:
    app: APIFlask
    sessions: sessionmaker[Session]
    imports: Path

    def client(self, username: str = "oscar") -> FlaskClient:
        client = self.app.test_client()
        page = client.get("/login")
        client.post("/login", data={"csrf_token": token_of(page.text), "username": username,
                                    "password": PASSWORD})
        assert client.get("/customers").status_code == 200
        return client

    def names(self) -> list[str]:
        with self.sessions() as session:
            return list(session.scalars(select(Customer.name).order_by(Customer.name)))


def token_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def upload(client: FlaskClient, content: bytes, header: bool = True,
           filename: str = "customers.csv") -> tuple[int, str]:
    """(status, body) of posting the upload form, following the redirect."""
    form = client.get("/customers/import").text
    data: dict[str, object] = {"csrf_token": token_of(form),
                               "file": (io.BytesIO(content), filename)}
    if header:
        data["header"] = "1"
    answer = client.post("/customers/import", data=data, content_type="multipart/form-data",
                         follow_redirects=True)
    return answer.status_code, answer.text


def selected(html: str, index: int) -> str:
    """The chosen field of column ``index`` on the columns page ('' = ignore)."""
    select_html = re.search(rf'<select id="map-{index}".*?</select>', html, re.S)
    assert select_html, f"no select for column {index}"
    chosen = re.search(r'<option value="([^"]*)" selected>', select_html.group(0))
    return chosen.group(1) if chosen else ""


@pytest.fixture
def wizard(db_url: str, tmp_path: Path) -> Iterator[Wizard]:
    settings = settings_for(tmp_path, database_url=db_url)
    settings.ensure_dirs()
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        create_user(session, "oscar", PASSWORD, "operator")
        create_user(session, "vera", PASSWORD, "viewer")
    app = create_app(settings)
    yield Wizard(app, sessions, tmp_path / "imports")
    engine.dispose()
    app.extensions["webui"].engine.dispose()


def test_guess_ignores_case_spaces_and_underscores_and_takes_each_field_once() -> None:
    columns = ["Company Name", "E_Mail", "phone number", "CURRENCY", "Tax %", "Town", "Mail",
               "Notes", ""]
    assert importer.guess_mapping(columns) == {
        "Company Name": "name", "E_Mail": "email", "phone number": "mobile",
        "CURRENCY": "currency", "Tax %": "tax_percent", "Town": "city"}


def test_content_check_names_the_encoding_problem() -> None:
    assert import_store.check_content("Name\r\nCafé Ltd\r\n".encode()) == ("UTF-8", None)
    assert import_store.check_content("Name\r\nCafé Ltd\r\n".encode("cp1252")) == (
        "Windows-1252", None)
    _, problem = import_store.check_content(b"Name\nok\nbad \x81\x8d here\n")
    assert problem is not None
    assert "neither UTF-8 nor Windows-1252" in problem and "line 3" in problem
    _, problem = import_store.check_content(b"PK\x03\x04 rest of a zip")
    assert problem is not None and "spreadsheet workbook" in problem
    _, problem = import_store.check_content("Name\nx\n".encode("utf-16"))
    assert problem is not None and "UTF-16" in problem


def test_columns_page_guesses_and_refuses_missing_and_twice_chosen_fields(
        wizard: Wizard) -> None:
    client = wizard.client()
    status, html = upload(client, GOOD.encode())
    assert status == 200
    assert [selected(html, i) for i in range(4)] == ["name", "email", "currency", "city"]
    assert "noc@alpha.example" in html and "ops@beta.example" in html  # sample values
    token = token_of(html)

    missing = client.post("/customers/import/columns", data={
        "csrf_token": token, "map-0": "", "map-1": "email", "map-2": "currency"})
    assert missing.status_code == 422
    assert "name is required: map a column to it" in missing.text
    assert 'data-required="name" data-state="missing"' in missing.text

    twice = client.post("/customers/import/columns", data={
        "csrf_token": token, "map-0": "name", "map-1": "email", "map-2": "currency",
        "map-3": "email"})
    assert twice.status_code == 422
    assert 'data-error-for="map-1">Email is also chosen for Town' in twice.text
    assert 'data-error-for="map-3">Email is also chosen for E_Mail' in twice.text
    assert selected(twice.text, 3) == "email"  # what was chosen is kept

    bad_default = client.post("/customers/import/columns", data={
        "csrf_token": token, "map-0": "name", "default-currency": "XYZ"})
    assert bad_default.status_code == 422
    assert 'data-error-for="default-currency"' in bad_default.text
    assert wizard.names() == []


def test_good_file_previews_then_imports_all_rows_and_removes_the_upload(
        wizard: Wizard) -> None:
    client = wizard.client()
    _, html = upload(client, GOOD.encode())
    assert len(list(wizard.imports.glob("*.csv"))) == 1
    with client.session_transaction() as cookie:
        token = cookie[import_store.SESSION_KEY]  # only a token, not the file
        assert (wizard.imports / f"{token}.csv").read_bytes() == GOOD.encode()
        assert "Alpha Tel" not in json.dumps(dict(cookie))
    chosen = client.post("/customers/import/columns", follow_redirects=True, data={
        "csrf_token": token_of(html), "map-0": "name", "map-1": "email",
        "map-2": "currency", "map-3": "city"})
    assert chosen.status_code == 200
    assert "<strong>2</strong> customers" in chosen.text
    assert ">USD</td>" in chosen.text  # as it will be stored, not as typed ("usd")
    assert 'data-testid="import-button">Import 2 customers' in chosen.text  # not disabled

    done = client.post("/customers/import/run", follow_redirects=True, data={
        "csrf_token": token_of(chosen.text), "token": token})
    assert done.status_code == 200
    assert "Imported 2 customers." in done.text
    assert wizard.names() == ["Alpha Tel", "Beta Voice"]
    with wizard.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.summary.like("%created by CSV import"))) == 2
    assert list(wizard.imports.iterdir()) == []
    assert client.get("/customers/import/preview").status_code == 302  # nothing left


def test_a_bad_row_is_named_and_a_forced_import_creates_nothing(wizard: Wizard) -> None:
    client = wizard.client()
    content = GOOD + "Gamma Ltd,not-an-email,USD,Hull\r\n"
    _, html = upload(client, content.encode())
    preview = client.post("/customers/import/columns", follow_redirects=True, data={
        "csrf_token": token_of(html), "map-0": "name", "map-1": "email",
        "map-2": "currency", "map-3": "city"})
    assert preview.status_code == 422
    assert "row 4, column E_Mail: must be an email address" in preview.text
    assert re.search(r'data-testid="import-button"\s+disabled', preview.text)
    upload_token = re.search(r'name="token" value="([^"]+)"', preview.text)
    assert upload_token
    forced = client.post("/customers/import/run", follow_redirects=True, data={
        "csrf_token": token_of(preview.text), "token": upload_token.group(1)})
    assert "Nothing was imported" in forced.text
    assert wizard.names() == []


def test_upload_refuses_big_empty_and_headerless_files_with_a_reason(
        wizard: Wizard, monkeypatch: pytest.MonkeyPatch) -> None:
    client = wizard.client()
    monkeypatch.setattr(importer, "MAX_BYTES", 100)
    status, html = upload(client, GOOD.encode() * 3)
    assert status == 413
    assert "the most that can be imported at once" in html
    monkeypatch.undo()
    status, html = upload(client, b"  \r\n")
    assert (status, "The file is empty." in html) == (422, True)
    status, html = upload(client, b"Name,Currency\r\n")
    assert (status, "no data rows under its header row" in html) == (422, True)
    assert list(wizard.imports.glob("*.csv")) == []

    # Without a header the columns are numbered and the first row is data.
    status, html = upload(client, b"Alpha Tel,USD\r\n", header=False)
    assert status == 200
    assert "Column 1" in html and "Alpha Tel" in html
    assert selected(html, 0) == ""


def test_template_has_every_field_and_imports_as_guessed(wizard: Wizard) -> None:
    client = wizard.client()
    template = client.get("/customers/import/template.csv")
    assert template.status_code == 200
    assert template.headers["Content-Disposition"].startswith("attachment")
    header = template.text.splitlines()[0].split(",")
    assert header[:3] == ["name", "status", "currency"] and "verification_required" in header
    _, html = upload(client, template.data)
    assert [selected(html, i) for i in range(len(header))] == header
    preview = client.post("/customers/import/columns", follow_redirects=True, data={
        "csrf_token": token_of(html)} | {f"map-{i}": f for i, f in enumerate(header)})
    assert preview.status_code == 200, preview.text
    assert "Example Telecom Ltd" in preview.text and "+447400123456" in preview.text


def test_an_upload_older_than_an_hour_is_gone(wizard: Wizard) -> None:
    client = wizard.client()
    upload(client, GOOD.encode())
    [meta] = wizard.imports.glob("*.json")
    data = json.loads(meta.read_text())
    data["created"] -= import_store.KEEP_SECONDS + 1
    meta.write_text(json.dumps(data))
    old = time.time() - import_store.KEEP_SECONDS - 1
    for path in wizard.imports.iterdir():
        os.utime(path, (old, old))
    gone = client.get("/customers/import/preview", follow_redirects=True)
    assert "no longer available" in gone.text
    assert list(wizard.imports.iterdir()) == []


def test_viewer_cannot_use_the_wizard(wizard: Wizard) -> None:
    client = wizard.client("vera")
    listing = client.get("/customers").text
    assert 'data-testid="import-customers"' not in listing
    assert client.get("/customers/import").status_code == 403
    assert client.get("/customers/import/template.csv").status_code == 403
    refused = client.post("/customers/import", data={
        "csrf_token": token_of(listing), "file": (io.BytesIO(GOOD.encode()), "c.csv")},
        content_type="multipart/form-data")
    assert refused.status_code == 403
    assert not wizard.imports.exists() or list(wizard.imports.glob("*.csv")) == []
    assert wizard.names() == []
    operator_list = wizard.client().get("/customers").text
    assert 'data-testid="import-customers"' in operator_list

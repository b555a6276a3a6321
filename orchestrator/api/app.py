"""Plug the API into the web admin's APIFlask app (one process serves both)."""

from __future__ import annotations

from apiflask import APIBlueprint, APIFlask
from flask_wtf.csrf import CSRFProtect

from orchestrator.api import (
    audit,
    balance,
    bans,
    carriers,
    carriers_children,
    currencies,
    customer_cards,
    customers,
    customers_children,
    docs,
    errors,
    explain,
    jobs,
    provider_cards,
    ratecard_children,
    ratecard_drafts,
    ratecard_jobs,
    routes,
    switch,
    tokens,
    users,
)
from orchestrator.api import calls as live_calls
from orchestrator.api import card_email as card_email_api
from orchestrator.api import cdrs as cdr_search
from orchestrator.api import messages as notify_messages
from orchestrator.api import notify_settings as notify_config
from orchestrator.api import rating as cdr_rating
from orchestrator.api import stats as cdr_stats
from orchestrator.api import verification as verification_api
from orchestrator.api.auth import SECURITY_SCHEMES

# Each resource module has its own blueprint; add new ones here.
RESOURCES: tuple[APIBlueprint, ...] = (tokens.bp, users.bp, audit.bp, carriers_children.bp,
                                        carriers.bp, customers_children.bp, customers.bp, jobs.bp,
                                        ratecard_children.bp, ratecard_drafts.bp,
                                        provider_cards.bp,
                                        customer_cards.bp, currencies.bp, ratecard_jobs.bp,
                                        routes.bp, explain.bp, switch.bp, bans.bp,
                                        balance.bp)
RESOURCES += (live_calls.bp,)
RESOURCES += (cdr_rating.bp,)
RESOURCES += (cdr_search.bp, cdr_stats.bp)
RESOURCES += (verification_api.bp,)
RESOURCES += (notify_messages.bp, notify_config.bp)
RESOURCES += (card_email_api.bp,)

DESCRIPTION = """REST API of the orchestrator control plane.

Get a token with `POST /api/v1/tokens`, then send `Authorization: Bearer <token>`.
Errors are `{"message": ..., "errors": {field: [messages]}}`; money is a decimal
string. See docs/api.md in the project for the whole guide."""


def init_api(app: APIFlask, csrf: CSRFProtect) -> None:
    app.config.update(SECURITY_SCHEMES=SECURITY_SCHEMES, DESCRIPTION=DESCRIPTION,
                      AUTO_SERVERS=False, OPENAPI_VERSION="3.0.3")
    errors.register(app)
    for bp in RESOURCES:
        csrf.exempt(bp)  # bearer tokens only, never cookies: no CSRF to defend against
        app.register_blueprint(bp)
    csrf.exempt(docs.bp)
    app.register_blueprint(docs.bp)

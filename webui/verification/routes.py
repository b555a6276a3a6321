"""Send a code, enter it, reset: for a customer (its panel on the Main tab) and for the
signed-in user's own account (the account page); the notifications page.

Plain forms; each action flashes what happened and goes back to the panel. A wrong
code is committed (the attempt counts) before its error is shown.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orchestrator.errors import ServiceError, TooSoon, ValidationFailed
from orchestrator.verification import codes, pending, subjects
from orchestrator.verification.models import CHANNELS
from orchestrator.verification.subjects import Subject
from webui.auth import current_actor, current_user, login_required, require_write
from webui.db import db
from webui.verification.common import bp

APPLY_NOTE = ("The switch refuses this customer's calls until the change is applied: "
              "use Apply now in the banner above (or the Switch page).")
CUSTOMER_LIST_LIMIT = 500


def _error_text(exc: ServiceError) -> str:
    if isinstance(exc, ValidationFailed):
        return "; ".join(" ".join(messages) for messages in exc.errors.values())
    if isinstance(exc, TooSoon):
        return exc.message
    return str(exc)


def _act(back: str, action: Callable[[], str]) -> ResponseReturnValue:
    """Run the action; flash its message or its error; go back to the panel."""
    try:
        done = action()
    except ServiceError as exc:
        db().rollback()
        flash(f"{_error_text(exc)[:1].upper()}{_error_text(exc)[1:]}.", "error")
    else:
        flash(done, "info")
    return redirect(back)


def _channel(channel: str) -> str:
    if channel not in CHANNELS:
        abort(404)
    return channel


def _send(subject: Subject, channel: str) -> str:
    sent = codes.send_code(db(), current_actor(), subject, channel)
    what = "email" if channel == "email" else "SMS"
    until = codes.aware(sent.expires_at).strftime("%H:%M")
    return (f"A verification code is on its way to {sent.target} by {what}: enter it "
            f"below (valid until {until} UTC).")


def _verify(subject: Subject, channel: str) -> str:
    result = codes.check_code(db(), current_actor(), subject, channel,
                              request.form.get("code", ""))
    db().commit()  # a wrong code's attempt counts
    result.raise_error()
    done = f"{result.target} is verified."
    return f"{done} {APPLY_NOTE}" if result.apply_needed else done


def _customer_back(customer_id: int) -> str:
    return url_for("customers.detail", customer_id=customer_id, _anchor="verification")


@bp.post("/customers/<int:customer_id>/verification/<channel>/send")
@login_required
def customer_send(customer_id: int, channel: str) -> ResponseReturnValue:
    require_write("customers")
    return _act(_customer_back(customer_id),
                lambda: _send(subjects.customer(customer_id), _channel(channel)))


@bp.post("/customers/<int:customer_id>/verification/<channel>/verify")
@login_required
def customer_verify(customer_id: int, channel: str) -> ResponseReturnValue:
    require_write("customers")
    return _act(_customer_back(customer_id),
                lambda: _verify(subjects.customer(customer_id), _channel(channel)))


@bp.route("/customers/<int:customer_id>/verification/reset", methods=["GET", "POST"])
@login_required
def customer_reset(customer_id: int) -> ResponseReturnValue:
    who = require_write("customers")
    if request.method == "GET":
        state = codes.state(db(), who, subjects.customer(customer_id))
        return render_template("verification/reset.html", state=state)
    chosen = [c for c in CHANNELS if request.form.get(c)]

    def reset() -> str:
        customer = codes.reset(db(), who, customer_id, chosen)
        done = f"The {' and '.join(chosen)} of {customer.name} must be verified again."
        return f"{done} {APPLY_NOTE}" if customer.verification_required else done
    return _act(_customer_back(customer_id), reset)


def _own() -> Subject:
    user = current_user()
    assert user is not None  # login_required
    return subjects.user(user.id)


def _account_back(channel: str) -> str:
    return url_for("account.contact", _anchor=f"verify-{channel}")


@bp.post("/account/verification/<channel>/send")
@login_required
def account_send(channel: str) -> ResponseReturnValue:
    return _act(_account_back(channel), lambda: _send(_own(), _channel(channel)))


@bp.post("/account/verification/<channel>/verify")
@login_required
def account_verify(channel: str) -> ResponseReturnValue:
    return _act(_account_back(channel), lambda: _verify(_own(), _channel(channel)))


@bp.get("/notifications")
@login_required
def index() -> ResponseReturnValue:
    user = current_user()
    assert user is not None
    who = current_actor()
    return render_template(
        "verification/index.html", account=pending.account_items(user),
        customers=pending.customers_needing(db(), who, CUSTOMER_LIST_LIMIT),
        total=pending.customers_needing_count(db()), can_write=who.can("write"))

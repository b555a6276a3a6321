"""The web admin and the REST API: one APIFlask application, one process.

Views stay thin: they call the service layer of ``orchestrator`` (the same functions
the REST API and the CLI call) and render the result. The API lives under /api/v1
(orchestrator.api); the web blueprints are plain Flask blueprints and stay out of
the OpenAPI document.
"""

from __future__ import annotations

from datetime import timedelta

from apiflask import APIFlask
from flask import Response, render_template
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from orchestrator import __version__, secrets
from orchestrator.api import errors as api_errors
from orchestrator.errors import ServiceError
from orchestrator.settings import Settings
from webui import account, audit, auth, carriers, customers, dashboard, users
from webui.db import init_db
from webui.security import SessionInterface, add_security_headers
from webui.state import WebState

SESSION_LIFETIME = timedelta(hours=8)


def create_app(settings: Settings | None = None) -> APIFlask:
    """The web admin and API for these settings (read from the environment when omitted)."""
    from orchestrator.api.app import init_api

    settings = settings if settings is not None else Settings()
    app = APIFlask(__name__, title="orchestrator", version=__version__,
                   spec_path="/api/v1/openapi.json", docs_path=None, json_errors=False)
    app.config.update(
        SECRET_KEY=settings.flask_secret(),
        SESSION_COOKIE_NAME="orchestrator_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=False,  # True by itself on HTTPS, see SessionInterface
        # A sign-in lasts SESSION_LIFETIME; the dashboard's polling does not extend it.
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        SESSION_REFRESH_EACH_REQUEST=False,
        # A CSRF token is valid as long as its session (a sign-in page left open for
        # an hour still works); it stays bound to the session.
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.session_interface = SessionInterface()
    app.jinja_env.autoescape = True  # for every template, whatever its extension
    app.extensions["webui"] = WebState.from_settings(settings)
    secrets.configure(settings)  # secrets at rest use this app's key, not the env's
    _configure_jobs(settings)  # uploads and jobs of this app: its var_dir and database
    csrf = CSRFProtect(app)
    init_db(app)
    auth.init_app(app)
    for blueprint in (auth.bp, account.bp, dashboard.bp, customers.bp, carriers.bp,
                      users.bp, audit.bp):
        app.register_blueprint(blueprint)
    from webui import customer_cards
    app.register_blueprint(customer_cards.bp)
    from webui import currencies, explain, jobs_status, provider_cards
    for blueprint in (provider_cards.bp, currencies.bp, jobs_status.bp, explain.bp):
        app.register_blueprint(blueprint)
    from webui import switch
    app.register_blueprint(switch.bp)
    from webui import calls as live_calls
    app.register_blueprint(live_calls.bp)
    from webui import cdrs as cdr_pages
    app.register_blueprint(cdr_pages.bp)
    from webui import verification
    app.register_blueprint(verification.bp)
    from webui import messages as message_log
    from webui import settings as delivery_settings
    app.register_blueprint(message_log.bp)
    app.register_blueprint(delivery_settings.bp)
    init_api(app, csrf)
    _register_error_pages(app)
    app.after_request(add_security_headers)
    return app


def _register_error_pages(app: APIFlask) -> None:
    def csrf_failed(error: CSRFError) -> tuple[str, int]:
        detail = (f"{error.description} The form was not sent from this site's page, or "
                  "the page is too old. Go back, reload the page and try again.")
        return render_template("error.html", code=400, title="Form not accepted",
                               detail=detail), 400

    def http_error(error: HTTPException) -> tuple[str, int] | HTTPException | Response:
        if error.code is None or error.code < 400:
            return error  # redirects and the like pass through
        if api_errors.is_api_request():
            return api_errors.werkzeug_error(error)
        return render_template("error.html", code=error.code, title=error.name,
                               detail=error.description), error.code

    def service_error(error: ServiceError) -> tuple[str, int] | Response:
        response = api_errors.service_error(error)  # rolls the request's work back
        if api_errors.is_api_request():
            return response
        return render_template("error.html", code=response.status_code, title="Refused",
                               detail=str(error)), response.status_code

    app.register_error_handler(CSRFError, csrf_failed)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(ServiceError, service_error)


def _configure_jobs(settings: Settings) -> None:
    """Make the job queue of these settings the process's (kept if it already is)."""
    from orchestrator.jobs import queue

    current = queue.configured()
    if current is None or current.settings.var_dir != settings.var_dir \
            or current.settings.db_url != settings.db_url:
        queue.configure(settings)

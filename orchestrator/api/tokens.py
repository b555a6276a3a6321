"""/api/v1/tokens: get a bearer token with a username and password, list, revoke."""

from __future__ import annotations

from typing import Any

from apiflask import HTTPError, Schema, fields
from apiflask.validators import Length, Range
from flask import request

from orchestrator.actor import Actor
from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import resource_blueprint
from orchestrator.api.fields import UtcDateTime
from orchestrator.api.listing import ListArgs, envelope, list_query, page_of
from orchestrator.errors import PermissionDenied
from orchestrator.users import tokens
from orchestrator.users.models import ApiToken
from orchestrator.users.service import MAX_PASSWORD_LENGTH, MAX_USERNAME_LENGTH, authenticate
from webui.db import db
from webui.state import web_state

bp = resource_blueprint("tokens", "Tokens")


class TokenRequest(Schema):
    username = fields.String(required=True, validate=Length(min=1, max=MAX_USERNAME_LENGTH))
    password = fields.String(required=True, load_only=True,
                             validate=Length(min=1, max=MAX_PASSWORD_LENGTH))
    name = fields.String(load_default="", validate=Length(max=tokens.MAX_NAME_LENGTH),
                         metadata={"description": "what the token is for"})
    expires_in_days = fields.Integer(load_default=None, allow_none=True,
                                     validate=Range(min=1, max=tokens.MAX_EXPIRES_DAYS),
                                     metadata={"description": "none: never expires"})


class TokenOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True, metadata={"description": "first characters"})
    user_id = fields.Integer(required=True)
    username = fields.String(required=True, attribute="user.username")
    created_at = UtcDateTime(required=True)
    last_used_at = UtcDateTime(allow_none=True)
    expires_at = UtcDateTime(allow_none=True)
    revoked_at = UtcDateTime(allow_none=True)
    active = fields.Method("_active", required=True,
                           metadata={"type": "boolean", "description": "usable now"})

    def _active(self, token: ApiToken) -> bool:
        return tokens.is_active(token)


class NewTokenOut(Schema):
    token = fields.String(required=True, metadata={"description": "the bearer token; shown "
                                                   "only in this answer"})
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True)
    user_id = fields.Integer(required=True)
    username = fields.String(required=True)
    role = fields.String(required=True)
    created_at = UtcDateTime(required=True)
    expires_at = UtcDateTime(allow_none=True)


class TokenListArgs(ListArgs):
    all = fields.Boolean(load_default=False, metadata={
        "description": "administrators: list every user's tokens"})


@bp.post("/tokens")
@bp.input(TokenRequest, arg_name="body")
@bp.output(NewTokenOut, status_code=201)
@bp.doc(summary="Get a bearer token", responses={
    401: "Wrong username or password", 403: "The password must be changed first",
    429: "Too many failed attempts; see Retry-After"})
def create_token(body: dict[str, Any]) -> dict[str, Any]:
    username, password = body["username"], body["password"]
    client = request.remote_addr or "unknown"
    throttle = web_state().throttle
    wait = throttle.retry_after(username, client)
    if wait:
        raise HTTPError(429, f"Too many failed attempts. Try again in {wait} s.",
                        headers={"Retry-After": str(wait)})
    user = authenticate(db(), username, password)
    if user is None:
        throttle.failed(username, client)
        raise HTTPError(401, "Invalid username or password",
                        headers={"WWW-Authenticate": 'Bearer realm="orchestrator"'})
    throttle.succeeded(username, client)
    if user.must_change_password:
        raise PermissionDenied("this account must change its one-time password in the web "
                               "admin first")
    actor = Actor(user.id, user.username, user.role)
    token, clear = tokens.create_token(db(), user, actor=actor, name=body["name"],
                                       expires_in_days=body["expires_in_days"])
    return {"token": clear, "id": token.id, "name": token.name, "prefix": token.prefix,
            "user_id": user.id, "username": user.username, "role": user.role,
            "created_at": token.created_at, "expires_at": token.expires_at}


@bp.get("/tokens")
@api_auth("read")
@bp.input(TokenListArgs, location="query", arg_name="args")
@bp.output(page_of(TokenOut))
@bp.doc(summary="List tokens")
def list_tokens(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    page = tokens.list_tokens(ctx.db, list_query(args), actor=ctx.actor, everyone=args["all"])
    return envelope(page)


@bp.delete("/tokens/<int:token_id>")
@api_auth("read")
@bp.output({}, status_code=204)
@bp.doc(summary="Revoke a token")
def revoke_token(ctx: ApiContext, token_id: int) -> tuple[str, int]:
    tokens.revoke_token(ctx.db, token_id, actor=ctx.actor)
    return "", 204

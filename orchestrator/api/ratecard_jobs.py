"""Rate-card work that runs as a job or streams a file: upload, export, build.

Uploads and builds answer 202 with the job (poll ``GET /api/v1/jobs/{id}``); row
problems of a deck end the job ``failed`` with one error per row and column.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from apiflask import Schema, fields
from apiflask.validators import Length, OneOf, Range
from flask import Response

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import resource_blueprint
from orchestrator.api.jobs import JobOut
from orchestrator.errors import ValidationFailed
from orchestrator.jobs.models import Job
from orchestrator.ratecards import imports

bp = resource_blueprint("api_ratecard_jobs", "Rate card jobs")
ACCEPTED = 202


class UploadIn(Schema):
    file = fields.File(required=True, metadata={  # type: ignore[no-untyped-call]
        "description": "the deck: CSV (any delimiter/encoding), XLSX or Open Rate Card JSON"})
    mapping = fields.String(required=True, validate=Length(max=4000), metadata={
        "description": "JSON object: field name -> column header text or 0-based index; "
        "fields prefix, name, rate, inter, intra, mcd, pulse, connect_fee, status, or "
        "billing for one combined `mcd/pulse` column",
        "example": '{"prefix": "Dial Code", "rate": "Price", "billing": 3}'})
    first_row = fields.Integer(load_default=2, validate=Range(min=1, max=10**7), metadata={
        "description": "1-based row number of the first rate row (the row above is the "
        "header)"})
    activate = fields.Boolean(load_default=False, metadata={
        "description": "make the new revision active when imported"})
    date_live = fields.DateTime(allow_none=True, metadata={
        "description": "or: activate it at this time (ISO 8601)"})
    format = fields.String(load_default="auto", validate=OneOf(imports.FORMATS))
    encoding = fields.String(validate=Length(max=40), metadata={
        "description": "override the detected encoding, e.g. latin-1"})
    delimiter = fields.String(validate=Length(max=3), metadata={
        "description": "override the detected delimiter (`\\t` for tab)"})
    sheet = fields.String(validate=Length(max=100), metadata={
        "description": "XLSX sheet name (default: the first)"})


class ExportArgs(Schema):
    format = fields.String(load_default="csv", validate=OneOf(tuple(imports.EXPORT_FORMATS)))
    revision = fields.Integer(validate=Range(min=1, max=2**31 - 1), metadata={
        "description": "revision id (default: the active revision)"})


class BuildIn(Schema):
    activate = fields.Boolean(load_default=False, metadata={
        "description": "make the built revision active (subject to the notice period)"})


class BulkBuildIn(BuildIn):
    card_ids = fields.List(fields.Integer(validate=Range(min=1, max=2**31 - 1)),
                           validate=Length(min=1, max=10_000), metadata={
                               "description": "cards to build (default: every stale one)"})


def _mapping(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise ValidationFailed.one("mapping", "is not valid JSON") from None


def _upload(ctx: ApiContext, kind: str, card_id: int, body: dict[str, Any]) -> tuple[Job, int]:
    upload = body["file"]
    content = upload.stream.read(imports.MAX_UPLOAD_BYTES + 1)
    date_live: datetime | None = body.get("date_live")
    job = imports.start_import(
        ctx.db, ctx.actor, kind=kind, card_id=card_id, content=content,
        filename=upload.filename or "upload", mapping=_mapping(body["mapping"]),
        first_row=body["first_row"], activate=body["activate"], date_live=date_live,
        format=body["format"], encoding=body.get("encoding"),
        delimiter=body.get("delimiter"), sheet=body.get("sheet"))
    return job, ACCEPTED


def _export(ctx: ApiContext, kind: str, card_id: int, args: dict[str, Any]) -> Response:
    content, filename, media = imports.export_revision(
        ctx.db, ctx.actor, kind=kind, card_id=card_id, revision_id=args.get("revision"),
        format=args["format"])
    return Response(content, mimetype=media, headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


UPLOAD_DOC = ("Answers 202 with the job; poll `GET /api/v1/jobs/{id}`. Every problem of "
              "the file (row and column) ends the job failed and imports nothing.")
EXPORT_RESPONSES: dict[int | str, dict[str, str | dict[str, dict[str, Any]]]] = {
    200: {"description": "the file", "content": {
    "text/csv": {}, "application/json": {},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}}


@bp.post("/provider-cards/<int:card_id>/upload")
@api_auth("write")
@bp.input(UploadIn, location="form_and_files", arg_name="body")
@bp.output(JobOut, status_code=ACCEPTED)
@bp.doc(summary="Upload a deck into a new revision", description=UPLOAD_DOC)
def upload_provider(ctx: ApiContext, card_id: int, body: dict[str, Any]) -> tuple[Job, int]:
    return _upload(ctx, "provider", card_id, body)


@bp.post("/customer-cards/<int:card_id>/upload")
@api_auth("write")
@bp.input(UploadIn, location="form_and_files", arg_name="body")
@bp.output(JobOut, status_code=ACCEPTED)
@bp.doc(summary="Upload rates of an external customer card", description=UPLOAD_DOC)
def upload_customer(ctx: ApiContext, card_id: int, body: dict[str, Any]) -> tuple[Job, int]:
    return _upload(ctx, "customer", card_id, body)


@bp.get("/provider-cards/<int:card_id>/export")
@api_auth("read")
@bp.input(ExportArgs, location="query", arg_name="args")
@bp.doc(summary="Export a revision", description="CSV, XLSX or Open Rate Card JSON.",
        responses=EXPORT_RESPONSES)
def export_provider(ctx: ApiContext, card_id: int, args: dict[str, Any]) -> Response:
    return _export(ctx, "provider", card_id, args)


@bp.get("/customer-cards/<int:card_id>/export")
@api_auth("read")
@bp.input(ExportArgs, location="query", arg_name="args")
@bp.doc(summary="Export a revision", description="CSV, XLSX or Open Rate Card JSON.",
        responses=EXPORT_RESPONSES)
def export_customer(ctx: ApiContext, card_id: int, args: dict[str, Any]) -> Response:
    return _export(ctx, "customer", card_id, args)


@bp.post("/customer-cards/<int:card_id>/build")
@api_auth("write")
@bp.input(BuildIn, arg_name="body")
@bp.output(JobOut, status_code=ACCEPTED)
@bp.doc(summary="Build a customer card", description="From its parents' active revisions "
        "into a new revision, with the routing table. Answers 202 with the job.")
def build(ctx: ApiContext, card_id: int, body: dict[str, Any]) -> tuple[Job, int]:
    return imports.start_build(ctx.db, ctx.actor, card_id, activate=body["activate"]), ACCEPTED


@bp.post("/customer-cards/build")
@api_auth("write")
@bp.input(BulkBuildIn, arg_name="body")
@bp.output(JobOut, status_code=ACCEPTED)
@bp.doc(summary="Build many customer cards", description="The given `card_ids`, or every "
        "stale card. One job; each card gets its own revision.",
        responses={404: "A card of `card_ids` does not exist"})
def bulk_build(ctx: ApiContext, body: dict[str, Any]) -> tuple[Job, int]:
    return imports.start_bulk_build(ctx.db, ctx.actor, body.get("card_ids"),
                                    activate=body["activate"]), ACCEPTED

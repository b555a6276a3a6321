"""Builds are followed on the generic job progress page (webui/jobs_status.py,
/jobs/<id>), which this module gives links to the new revision and back."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for

JOB_RULE = "/jobs/<int:job_id>"
BUILD_KIND = "ratecards.build"


def job_url(job_id: int, back: str) -> str:
    """The progress page of a job, else ``back`` (where to go without one).

    The page's own "back" button is not used: its label speaks of uploads; the links
    of :func:`build_links` lead back to the card or the list instead."""
    for rule in current_app.url_map.iter_rules():
        if rule.rule == JOB_RULE and rule.endpoint:
            return url_for(rule.endpoint, job_id=job_id)
    return back


def build_links(job: dict[str, Any]) -> dict[str, Any] | None:
    """Links of a build job's page: the new revision, the card (one card) or the list."""
    params = job.get("params") or {}
    card_ids = [int(i) for i in params.get("card_ids") or [] if str(i).isdigit()]
    result = job.get("result") or {}
    built = [b for b in result.get("built") or [] if isinstance(b, dict)]
    links: dict[str, Any] = {}
    if len(card_ids) == 1:
        links["title"] = "Build of a customer card"
        links["card"] = (url_for("customer_cards.detail", card_id=card_ids[0]),
                         "Back to the customer card")
    else:
        links["title"] = f"Build of {len(card_ids)} customer cards"
        links["card"] = (url_for("customer_cards.index"), "Back to the customer cards")
    if len(built) == 1:
        one = built[0]
        label = (f"Open revision {one.get('revision_number')} ({one.get('state')}, "
                 f"{one.get('rows')} rates)")
        links["result"] = (url_for("customer_cards.detail", card_id=one.get("card_id"),
                                   tab="rates", revision=one.get("revision_id")), label)
        if one.get("note"):
            links["note"] = one["note"]
    elif built:
        links["result"] = (url_for("customer_cards.index"),
                           f"{len(built)} cards built: open the customer cards")
    if result.get("failed"):
        links["failed_note"] = "; ".join(f"card {f.get('card_id')}: {f.get('error')}"
                                         for f in result["failed"])
    return links


def register() -> None:
    try:
        from webui.jobs_status import register_job_links
    except ImportError:  # the generic job page is not there yet
        return
    register_job_links(BUILD_KIND, build_links)


register()

"""Steps a person takes in Slack, shared by the story tests (each step over real HTTP)."""

from __future__ import annotations

from typing import Any

from conftest import ACME, LEAD, TEAM, Cadence
from sqlmodel import select

from handlers.guard import DATABASE_AWAY
from storage.models import Engagement

GOOD_FORM: dict[str, Any] = {
    "name": "Acme Payments",
    "vendor": "Globex Consulting",
    "channel": ACME,
    "vendor_contacts": ["U0VENDOR", "W0EXTERNAL"],
    "stakeholders": ["U0STAKE"],
    "kpis": "Uptime (%) >= 99.9\nMean time to resolve (hours) <= 8",
    # Low: no due diligence asked of the vendor by default, so a story that is not about the
    # vendor's evidence hears nothing of it (tests/test_due_diligence.py sets its own).
    "criticality": "low",
}


def open_form(
    cadence: Cadence,
    text: str = "engagement new",
    *,
    user: str = LEAD,
    channel: str = "C0GENERAL",
) -> dict[str, Any]:
    """Run a command that opens a modal; return the view as Slack holds it once the app is done
    with it (for a new engagement, after the time zone was filled in with views.update)."""
    before = len(cadence.fake.calls_to("views.open"))
    reply = cadence.sim.command(text, user=user, channel=channel)
    assert reply.status == 200, reply.body
    opened = cadence.fake.wait_for("views.open", count=before + 1)[-1]
    assert opened.ok, opened.response
    view_id = opened.response["view"]["id"]
    if text.strip() == "engagement new":

        def filled_in_or_apology() -> str | None:
            if any(c.args.get("view_id") == view_id for c in cadence.fake.calls_to("views.update")):
                return "filled in"
            said = ephemeral_replies(cadence, reply.response_url or "")
            return "apology" if any(DATABASE_AWAY in str(r) for r in said) else None

        outcome = cadence.wait_until(filled_in_or_apology, what="the time zone to be filled in")
        assert outcome == "filled in", "the work after the ack said the database did not answer"
    return cadence.fake.view(view_id)


def submit(cadence: Cadence, view: dict[str, Any], values: dict[str, Any], *, user: str = LEAD):
    reply = cadence.sim.submit_view(view, values, user=user)
    assert reply.status == 200, reply.body
    return reply


def create_engagement(cadence: Cadence, *, user: str = LEAD, **overrides: Any) -> Engagement:
    """The whole modal round trip; returns the row it created."""
    view = open_form(cadence, user=user)
    reply = submit(cadence, view, {**GOOD_FORM, **overrides}, user=user)
    assert reply.json is None or "errors" not in reply.json, reply.json
    name = overrides.get("name", GOOD_FORM["name"])
    engagement = cadence.wait_until(lambda: find_engagement(cadence, name), what=f"{name} to exist")
    # The work after the ack (join, welcome, the creator's DM) is finished when the DM is sent.
    cadence.wait_until(
        lambda: any(
            c.args.get("channel") == user and "is set up" in str(c.args.get("text"))
            for c in cadence.fake.calls_to("chat.postMessage")
        ),
        what="the creator's confirmation",
    )
    return engagement


def find_engagement(cadence: Cadence, name: str) -> Engagement | None:
    with cadence.db.read_session() as session:
        return session.exec(
            select(Engagement).where(Engagement.team_id == TEAM).where(Engagement.name == name)
        ).first()


def count(cadence: Cadence, model) -> int:
    with cadence.db.read_session() as session:
        return len(session.exec(select(model)).all())


def ephemeral_replies(cadence: Cadence, response_url: str) -> list[dict[str, Any]]:
    return [r.body for r in cadence.fake.responses if response_url.endswith("/" + r.name)]


def wait_reply(cadence: Cadence, reply) -> dict[str, Any]:
    """The ephemeral answer to a command: inline in the HTTP response, or via response_url."""
    if reply.json and (reply.json.get("text") or reply.json.get("blocks")):
        return reply.json
    return cadence.wait_until(
        lambda: (ephemeral_replies(cadence, reply.response_url) or [None])[-1],
        what="an ephemeral reply",
    )


def text_of(payload: dict[str, Any]) -> str:
    """Everything a person reads in a message payload: fallback text and block texts."""
    parts = [payload.get("text") or ""]
    for block in payload.get("blocks") or []:
        text = block.get("text")
        if isinstance(text, dict):
            parts.append(text.get("text", ""))
        for element in block.get("elements") or []:
            if isinstance(element, dict) and isinstance(element.get("text"), str):
                parts.append(element["text"])
    return "\n".join(parts)


def choose_notify(cadence: Cadence, mode: str, *, user: str = LEAD) -> dict[str, Any]:
    """On their Home tab, the person chooses how they hear of answers (`each`, `daily`,
    `summaries`); the Home tab published again, showing the choice."""
    before = len(cadence.fake.calls_to("views.publish"))
    reply = cadence.sim.app_home_opened(user)
    assert reply.status == 200, reply.body
    cadence.fake.wait_for("views.publish", count=before + 1)
    home = cadence.fake.home_view(user)
    assert home is not None
    reply = cadence.sim.click(home, "notify_mode", user=user, value=mode)
    assert reply.status == 200, reply.body
    published = cadence.fake.wait_for("views.publish", count=before + 2)[-1]
    assert published.ok, published.response
    shown = cadence.fake.home_view(user)
    assert shown is not None
    return shown

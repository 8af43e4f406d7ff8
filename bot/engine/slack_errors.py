"""What a Slack failure means for the job that met it: the one place errors are classified.

- RETRY: rate limits and server trouble that outlasted slack_sdk's retry handlers, and
  connection errors. The job goes back to pending with a backoff; nothing is lost.
- DM_REFUSED: a direct message Slack will not deliver (often a Slack Connect guest from another
  organisation). The job falls back to mentioning the person in the engagement channel.
- REJOIN: the bot was removed from a public channel; a message that may rejoin joins once and
  tries again.
- PERMANENT: asking again will not help (the channel is gone, archived, the person deactivated,
  the message malformed). The job stops and the leads are told once per cause.
- UNKNOWN: an error Cadence has no advice for. The job stops and records it (no notice: there
  is no fix to tell the leads).
"""

from __future__ import annotations

from enum import StrEnum

from slack_sdk.errors import SlackApiError


class Verdict(StrEnum):
    RETRY = "retry"
    DM_REFUSED = "dm_refused"
    REJOIN = "rejoin"
    PERMANENT = "permanent"
    UNKNOWN = "unknown"


PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "user_not_found",
        "account_inactive",
        "is_archived",
        "invalid_blocks",
        "msg_too_long",
        "no_text",
        "restricted_action",
        "cannot_dm_bot",
        "user_disabled",
        "team_access_not_granted",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
    }
)
DM_REFUSED = frozenset(
    {"channel_not_found", "cannot_dm_bot", "user_not_found", "not_allowed_token_type"}
)
TRANSIENT = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable"})


def error_code(error: SlackApiError) -> str:
    """Slack's error code, or `http_<status>` when the answer carried none."""
    response = error.response
    if response is None:
        return "no_response"
    return response.get("error") or f"http_{response.status_code}"


def classify(error: SlackApiError, *, to_person: bool, may_rejoin: bool = False) -> Verdict:
    """The verdict for a failed call. `to_person`: the message was a DM; `may_rejoin`: the
    message may join its channel again when the bot was removed from it."""
    code = error_code(error)
    status = error.response.status_code if error.response is not None else 0
    if status == 429 or status >= 500 or code in TRANSIENT:
        return Verdict.RETRY
    if to_person and code in DM_REFUSED:
        return Verdict.DM_REFUSED
    if may_rejoin and code == "not_in_channel":
        return Verdict.REJOIN
    if code in PERMANENT:
        return Verdict.PERMANENT
    return Verdict.UNKNOWN

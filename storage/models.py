"""The tables of the whole product. Every row belongs to a workspace (`team_id`).

Alembic owns the schema (`storage/migrations`); a test checks that the migrations and these
models agree. Moments are stored as UTC (`UTCDateTime`); Slack people and channels are kept by
ID, never by name (names change, and Slack Connect people have IDs from their own workspace).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage import oauth_tables
from storage.assurance_statuses import assurance_status_check
from storage.deliverable_statuses import deliverable_status_check
from storage.statuses import FINISHED_JOBS, CheckInStatus, JobStatus, RecipientStatus, one_of
from storage.types import UTCDateTime

# Naming convention so that Alembic's generated constraint names are stable on every backend.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TEAM_ID_LENGTH = 32
SLACK_ID_LENGTH = 32


def team_field() -> Any:
    return Field(max_length=TEAM_ID_LENGTH, index=True)


def moment(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(
        default=None if nullable else ...,
        sa_type=UTCDateTime,
        nullable=nullable,
        index=index,
    )


def parent(table: str, *, nullable: bool = False, ondelete: str = "CASCADE") -> Any:
    """A foreign key to `table.id` that goes away with its parent."""
    return Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey(f"{table}.id", ondelete=ondelete), nullable=nullable, index=True
        ),
    )


def json_field(default_factory=list) -> Any:
    return Field(default_factory=default_factory, sa_type=JSON, nullable=False)


class Workspace(SQLModel, table=True):
    """A Slack workspace Cadence serves, and its workspace-wide settings (the digest)."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID_LENGTH, unique=True)
    name: str = Field(default="", max_length=200)
    digest_channel_id: str | None = Field(default=None, max_length=SLACK_ID_LENGTH)
    digest_rule: str = Field(default="FREQ=WEEKLY;BYDAY=MO", max_length=500)
    digest_local_time: str = Field(default="09:00", max_length=5)
    digest_timezone: str = Field(default="UTC", max_length=64)
    digest_next_run_at: datetime | None = moment(nullable=True, index=True)
    digest_last_run_at: datetime | None = moment(nullable=True)  # "what changed since" starts here
    created_at: datetime = moment()
    # When the workspace uninstalled Cadence (or revoked its token): nothing is planned or sent
    # for it until it installs Cadence again; its data stays until `forget-workspace`.
    uninstalled_at: datetime | None = moment(nullable=True)
    # When someone last ran `/cadence digest send`: one manual digest per workspace per
    # `digests.MANUAL_SEND_GAP`, so nobody can make Cadence post to every digest channel at will.
    digest_manual_sent_at: datetime | None = moment(nullable=True)
    # How many days answers (updates, feedback, risk reviews, custom answers) and closed
    # concerns are kept, and audit events (None: forever, the default). Migration 0022;
    # `bot/domain/retention.py` applies them.
    retention_days: int | None = None
    audit_retention_days: int | None = None


class EngagementBase(SQLModel):
    """What a lead defines on the engagement form: the columns an edit may change (the domain
    builds one from its input, then `Engagement.model_validate` / `sqlmodel_update`)."""

    name: str = Field(max_length=80)
    handle: str = Field(max_length=80)
    vendor: str = Field(max_length=120)
    channel_id: str = Field(max_length=SLACK_ID_LENGTH)
    digest_channel_id: str | None = Field(default=None, max_length=SLACK_ID_LENGTH)
    escalation_user_id: str | None = Field(default=None, max_length=SLACK_ID_LENGTH)
    timezone: str = Field(max_length=64)
    holidays: list[str] = json_field()
    concern_clock_pauses: bool = False  # concern SLA clocks count working hours only
    summaries_in_channel: bool = False  # update summaries in the channel, not the check-in thread
    # A deliverable's clocks: its owner is reminded this many working days before it is due, and
    # a submission waits this many working days for acceptance before the acceptors are reminded.
    deliverable_due_soon_days: int = 3
    deliverable_acceptance_days: int = 5
    # The contract's dates: its term, whether it renews by itself, and how many days before its
    # end notice must be given (the leads are reminded before that last day, and on the end).
    contract_start: date | None = None
    contract_end: date | None = None
    contract_renews: bool = False
    notice_days: int | None = None
    # How much is at stake: which evidence a vendor must provide at the start (due diligence, by
    # the workspace's requirements for this criticality).
    criticality: str = Field(default="medium", max_length=8)
    # The vendor's evidence: its owner is reminded this many days before an item expires, and
    # a requested item not provided within `assurance_window_days` reminds, then escalates.
    assurance_expiry_days: list[int] = json_field(lambda: [30, 7])
    assurance_window_days: int = 10


class Engagement(EngagementBase, table=True):
    """A client–vendor relationship: who is involved, where they talk, what success means."""

    __table_args__ = (
        UniqueConstraint("team_id", "handle", name="uq_engagement_team_handle"),
        # Which engagement a channel is (a Slack Connect person's command names the channel;
        # `installations.teams_of_channel`; a step's engagement named by its channel).
        Index("ix_engagement_channel_id", "channel_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    created_by: str = Field(max_length=SLACK_ID_LENGTH)
    created_at: datetime = moment()
    updated_at: datetime = moment()
    archived_at: datetime | None = moment(nullable=True)


# What a brief view reads of an engagement (a form opened from a prompt, a person's Home page):
# the whole row is twice these columns. `checkins.load(brief=True)` and `page_for_person`.
ENGAGEMENT_BRIEF = (
    Engagement.id,
    Engagement.team_id,
    Engagement.name,
    Engagement.handle,
    Engagement.vendor,
    Engagement.channel_id,
    Engagement.timezone,
    Engagement.archived_at,
)


class EngagementMember(SQLModel, table=True):
    """A person's role on an engagement: lead, vendor (contact) or stakeholder."""

    __table_args__ = (
        UniqueConstraint("engagement_id", "user_id", "role", name="uq_member_engagement_user_role"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    engagement_id: int = parent("engagement")
    user_id: str = Field(max_length=SLACK_ID_LENGTH, index=True)
    role: str = Field(max_length=16)


class KpiDefinition(SQLModel, table=True):
    """A KPI the vendor reports against: a target, a unit, and which direction is better."""

    __table_args__ = (UniqueConstraint("engagement_id", "name", name="uq_kpi_engagement_name"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    engagement_id: int = parent("engagement")
    name: str = Field(max_length=60)
    unit: str = Field(default="", max_length=20)
    target: float
    higher_is_better: bool = True
    # The amber band: a figure short of the target but no worse than this is "within
    # tolerance" (🟡), not missed. None: any figure short of the target is missed.
    tolerance: float | None = None
    position: int = 0
    # Removing a KPI from an engagement retires it: new forms stop asking for it,
    # but the values already reported against it stay (a delete would cascade them away).
    retired_at: datetime | None = moment(nullable=True)


class ConcernSla(SQLModel, table=True):
    """How fast a concern of a severity must be acknowledged and resolved."""

    __table_args__ = (
        UniqueConstraint("engagement_id", "severity", name="uq_sla_engagement_severity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    engagement_id: int = parent("engagement")
    severity: str = Field(max_length=16)
    response_hours: int  # acknowledge within
    resolve_hours: int | None = None  # resolve within (None: the default for the severity)


class CadenceBase(SQLModel):
    """What a lead defines on the schedule form: the columns an edit may change (the domain
    builds one from its input, then `Cadence.model_validate` / `sqlmodel_update`)."""

    kind: str = Field(max_length=24)
    rule: str = Field(max_length=500)
    rule_kind: str = Field(max_length=16)
    start_date: date | None = None
    local_time: str = Field(max_length=5)
    timezone: str = Field(max_length=64)
    window_hours: int = 48
    reminder_hours: int | None = None
    escalation_hours: int | None = None
    escalation_user_ids: list[str] = json_field()
    audience: str = Field(default="vendor", max_length=16)
    audience_user_ids: list[str] = json_field()
    delivery: str = Field(default="dm", max_length=16)
    recipient_local_time: bool = False


class Cadence(CadenceBase, table=True):
    """A recurring check-in of one kind on a rule, at a local time in an IANA zone."""

    __table_args__ = (
        Index("ix_cadence_status_next_run", "status", "next_run_at"),
        Index("ix_cadence_status_local_next_run", "status", "recipient_local_time", "next_run_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    engagement_id: int = parent("engagement")
    status: str = Field(default="active", max_length=16)
    next_run_at: datetime | None = moment(nullable=True)
    next_slot: str | None = Field(default=None, max_length=40)
    created_by: str = Field(max_length=SLACK_ID_LENGTH)
    created_at: datetime = moment()
    updated_at: datetime = moment()


class CheckIn(SQLModel, table=True):
    """One occurrence of a cadence; its local slot makes a second one impossible."""

    __table_args__ = (
        UniqueConstraint("cadence_id", "occurrence_key", name="uq_checkin_cadence_occurrence"),
        # The figures read an engagement's check-ins of a period (digest, health card, Home).
        Index("ix_checkin_engagement_scheduled", "engagement_id", "scheduled_for"),
        # The planner reads each due cadence's latest check-ins (`planner.last_opened`): by
        # cadence and moment, the recent ones only, not a year of them (migration 0032).
        Index("ix_checkin_cadence_scheduled", "cadence_id", "scheduled_for"),
        one_of(CheckInStatus),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    cadence_id: int = parent("cadence")
    engagement_id: int = parent("engagement")
    occurrence_key: str = Field(max_length=40)
    scheduled_for: datetime = moment()
    window_closes_at: datetime = moment()
    status: str = Field(default="open", max_length=16)
    created_at: datetime = moment()
    thread_ts: str | None = Field(default=None, max_length=32)  # its message in the channel


class CheckInRecipient(SQLModel, table=True):
    """A person asked to answer a check-in, and what became of the request."""

    __table_args__ = (
        UniqueConstraint("checkin_id", "user_id", name="uq_recipient_checkin_user"),
        one_of(RecipientStatus),
        # What waits on a person's answer (their Home tab), however long the history (0037).
        Index(
            "ix_checkinrecipient_pending_user",
            "team_id",
            "user_id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    checkin_id: int = parent("checkin")
    user_id: str = Field(max_length=SLACK_ID_LENGTH)
    status: str = Field(default="pending", max_length=16)
    delivered_via: str | None = Field(default=None, max_length=16)
    answered_at: datetime | None = moment(nullable=True)


class StatusUpdate(SQLModel, table=True):
    """A structured status update; the fields hold the latest revision."""

    # The figures read an engagement's updates of a period and the last one before it.
    __table_args__ = (
        Index("ix_statusupdate_engagement_submitted", "engagement_id", "submitted_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    engagement_id: int = parent("engagement")
    checkin_id: int | None = parent("checkin", nullable=True, ondelete="SET NULL")
    author_user_id: str = Field(max_length=SLACK_ID_LENGTH)
    rag: str = Field(max_length=8)
    summary: str = Field(default="", max_length=3000)
    accomplishments: str = Field(default="", max_length=3000)
    next_steps: str = Field(default="", max_length=3000)
    blockers: str = Field(default="", max_length=3000)
    # Why an amber or red is not green ("What would make it green?"); empty for green.
    reason: str = Field(default="", max_length=3000)
    # The blockers one per line, each `{"text", "since", "carried"}`: the date it was first
    # reported and how many updates since carried it over ("still blocks"), so a blocker
    # that stays open is visible as such.
    blocker_lines: list[dict[str, Any]] = json_field()
    confidence: int | None = None
    late: bool = False
    revision: int = 1
    channel_id: str | None = Field(default=None, max_length=SLACK_ID_LENGTH)
    message_ts: str | None = Field(default=None, max_length=32)
    submitted_at: datetime = moment(index=True)
    updated_at: datetime = moment()


class UpdateRevision(SQLModel, table=True):
    """Every version of a status update, kept when it is edited."""

    __table_args__ = (
        UniqueConstraint("update_id", "revision", name="uq_revision_update_revision"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    update_id: int = parent("statusupdate")
    revision: int
    editor_user_id: str = Field(max_length=SLACK_ID_LENGTH)
    content: dict[str, Any] = json_field(dict)
    created_at: datetime = moment()


class KpiValue(SQLModel, table=True):
    """A reported KPI figure, checked against its target when it was reported."""

    __table_args__ = (UniqueConstraint("update_id", "kpi_id", name="uq_kpivalue_update_kpi"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    update_id: int = parent("statusupdate")
    kpi_id: int = parent("kpidefinition")
    value: float
    met_target: bool


class Feedback(SQLModel, table=True):
    """A stakeholder's ratings of the vendor (1–5) and comment, optionally anonymous."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    engagement_id: int = parent("engagement")
    checkin_id: int | None = parent("checkin", nullable=True, ondelete="SET NULL")
    # None for an anonymous answer: who gave it is kept nowhere (a survey's recipient row
    # records that someone answered, for reminders, and nothing ties it to this row).
    author_user_id: str | None = Field(default=None, max_length=SLACK_ID_LENGTH)
    communication: int
    quality: int
    timeliness: int
    overall: int
    comment: str = Field(default="", max_length=3000)
    anonymous: bool = False
    # When the answer counts from, never the second it was given (that second would match the
    # person's other traces): see bot.domain.feedback.counted_at.
    submitted_at: datetime = moment(index=True)


class Concern(SQLModel, table=True):
    """An entry of the risk/issue register, with its response SLA.

    `sla_due_at` is the next deadline (to acknowledge while unacknowledged, then to resolve), so
    one index finds what is late; `round` counts reopenings (each starts the clocks again).
    """

    __table_args__ = (
        Index("ix_concern_status_sla", "status", "sla_due_at"),
        # A Home's open concerns of a person, owned or raised: one index each side of the OR.
        Index("ix_concern_team_owner", "team_id", "owner_user_id"),
        Index("ix_concern_team_raised_by", "team_id", "raised_by"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    engagement_id: int = parent("engagement")
    title: str = Field(max_length=150)
    description: str = Field(default="", max_length=3000)
    severity: str = Field(max_length=16)
    category: str = Field(max_length=16)
    owner_user_id: str | None = Field(default=None, max_length=SLACK_ID_LENGTH)
    raised_by: str = Field(max_length=SLACK_ID_LENGTH)
    raised_side: str = Field(default="", max_length=16)
    source: str = Field(default="command", max_length=16)
    source_ref: str | None = Field(default=None, max_length=500)
    quote: str = Field(default="", max_length=3000)
    due_on: date | None = None
    status: str = Field(default="open", max_length=16)
    round: int = 0
    raised_at: datetime = moment()
    acknowledged_at: datetime | None = moment(nullable=True)
    resolved_at: datetime | None = moment(nullable=True)
    resolution_note: str = Field(default="", max_length=3000)
    sla_due_at: datetime | None = moment(nullable=True)
    acknowledge_due_at: datetime | None = moment(nullable=True)
    resolve_due_at: datetime | None = moment(nullable=True)
    channel_id: str | None = Field(default=None, max_length=SLACK_ID_LENGTH)
    message_ts: str | None = Field(default=None, max_length=32)


class ConcernEvent(SQLModel, table=True):
    """A change of a concern: who, when, what (raised, acknowledged, resolved, reopened,
    reassigned), from which state to which, and the note that came with it."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    concern_id: int = parent("concern")
    actor_user_id: str = Field(max_length=SLACK_ID_LENGTH)
    action: str = Field(default="", max_length=16)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    note: str = Field(default="", max_length=3000)
    at: datetime = moment()


class AuditEvent(SQLModel, table=True):
    """A configuration change: who, when, what, before → after.

    Each event is a link of its workspace's chain (`storage/audit_chain.py`, migration 0022):
    `seq` its place, `prev_hash` the hash of the link before, `hash` that of its own content
    and `prev_hash`. Set at commit, under the lock of the workspace's `AuditChainHead`."""

    __table_args__ = (
        Index("ix_audit_entity", "team_id", "entity_type", "entity_id"),
        UniqueConstraint("team_id", "seq", name="uq_auditevent_team_seq"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    actor_user_id: str = Field(max_length=SLACK_ID_LENGTH)
    entity_type: str = Field(max_length=32)
    entity_id: int
    action: str = Field(max_length=32)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSON, nullable=True)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSON, nullable=True)
    at: datetime = moment()
    # Nullable so a release before the chain can still write during a rolling deploy (its
    # unchained events are then reported by `audit verify`).
    seq: int | None = None
    prev_hash: str | None = Field(default=None, max_length=64)
    hash: str | None = Field(default=None, max_length=64)
    # The audit key whose HMAC `hash` is (storage/audit_keys.py); None: a plain sha256 link.
    key_id: str | None = Field(default=None, max_length=16)


class AuditChainHead(SQLModel, table=True):
    """Where a workspace's audit chain ends and begins: the row every writer of an audit event
    locks (so two transactions never fork the chain) and `audit verify` checks the end against
    (so deleting the last events shows). Retention moves the beginning: `first_seq` is the first
    link kept and `start_hash` the hash of the link before it (empty: the chain's genesis)."""

    team_id: str = Field(primary_key=True, max_length=TEAM_ID_LENGTH)
    last_seq: int = 0
    last_hash: str = Field(default="", max_length=64)
    first_seq: int = 1
    start_hash: str = Field(default="", max_length=64)
    trimmed_at: datetime | None = moment(nullable=True)  # when retention last trimmed it
    # An HMAC of where the chain begins and ends under audit key `key_id` (migration 0030):
    # with a key, what proves the head was not moved by someone without it. None: unsealed.
    key_id: str | None = Field(default=None, max_length=16)
    seal: str | None = Field(default=None, max_length=64)


class AwayPeriod(SQLModel, table=True):
    """A person's time away: no prompts, shown as away rather than missing."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    user_id: str = Field(max_length=SLACK_ID_LENGTH, index=True)
    starts_on: date
    ends_on: date
    created_at: datetime = moment()


class ScheduledJob(SQLModel, table=True):
    """One outgoing message or timed action, named by a unique key for its occurrence.

    Creating a job whose key exists is a no-op, so no two processes can plan the same message
    twice. A tick claims due jobs with a lease; a job held by a process that died becomes due
    again when its lease expires.
    """

    __table_args__ = (
        UniqueConstraint("key", name="uq_scheduledjob_key"),
        # One partial index per branch of the claim (storage/jobs.claim_statement): only the
        # jobs it could take are indexed, not the finished ones that pile up (migration 0012).
        Index(
            "ix_scheduledjob_pending_due",
            "due_at",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index(
            "ix_scheduledjob_claimed_lease",
            "lease_expires_at",
            postgresql_where=text("status = 'claimed'"),
            sqlite_where=text("status = 'claimed'"),
        ),
        # Finished jobs by kind and when they finished, for pruning (storage/pruning.py;
        # migration 0032): a pass with nothing old enough reads none of them.
        Index(
            "ix_scheduledjob_finished",
            "kind",
            "updated_at",
            postgresql_where=text(FINISHED_JOBS),
            sqlite_where=text(FINISHED_JOBS),
        ),
        one_of(JobStatus),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    key: str = Field(max_length=200)
    kind: str = Field(max_length=32)
    due_at: datetime = moment()
    cadence_id: int | None = parent("cadence", nullable=True)
    checkin_id: int | None = parent("checkin", nullable=True)
    user_id: str | None = Field(default=None, max_length=SLACK_ID_LENGTH)
    payload: dict[str, Any] = json_field(dict)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = moment(nullable=True)
    result_channel: str | None = Field(default=None, max_length=SLACK_ID_LENGTH)
    result_ts: str | None = Field(default=None, max_length=32)
    error: str | None = Field(default=None, max_length=500)
    # Lookups in a row that Slack did not answer for a job whose outcome is unknown (its error
    # says why; the engine gives up at `delivery.MAX_LOOKUPS`). Migration 0016.
    lookups_failed: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # For a job whose outcome is unknown: by when its lost attempt began (when it was recorded
    # as unknown, or its dead holder's lease ran out), set by the claim; a lookup reads Slack's
    # messages up to a pass's span after it only (migration 0028).
    unknown_until: datetime | None = moment(nullable=True)
    # For a job whose outcome is unknown: the ts of the oldest message its lookups have read so
    # far without reaching the window's start (every newer one in the window was checked), so
    # the next read goes on below it; cleared by a new attempt (migration 0035).
    lookup_below: str | None = Field(default=None, max_length=32)
    # A short-lived credential the job's call needs (a Workflow Builder step's execution token),
    # cleared as soon as the job ends, whatever its end (`storage.jobs`; migration 0029).
    secret: str | None = Field(default=None, max_length=1000)
    created_at: datetime = moment()
    updated_at: datetime = moment()


class Person(SQLModel, table=True):
    """What Slack last told us about a person: their time zone and status (refreshed by the
    engine outside any transaction), and whether they belong to another organisation."""

    __table_args__ = (UniqueConstraint("team_id", "user_id", name="uq_person_team_user"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    user_id: str = Field(max_length=SLACK_ID_LENGTH)
    tz: str | None = Field(default=None, max_length=64)
    status_emoji: str = Field(default="", max_length=100)
    external: bool = False
    refreshed_at: datetime = moment()
    # When they first opened Cadence's Home tab: only those who did get it republished after a
    # change (through the outbox), so a prompt to many people does not double the job table.
    home_opened_at: datetime | None = moment(nullable=True)
    # The person's standing in their Slack workspace as users.info last said it ("owner",
    # "admin", "member", "guest"; None: never asked) and when: workspace admins and owners
    # steer Cadence's workspace settings (`bot/domain/roles.py`), re-checked when it is old.
    slack_role: str | None = Field(default=None, max_length=16)
    slack_role_checked_at: datetime | None = moment(nullable=True)
    # How they want to hear of answers that need a lead's attention (`bot/domain/notifications.py`:
    # "each", "daily", "summaries"; None: the default, a daily round-up). Migration 0031.
    notify: str | None = Field(default=None, max_length=16)


class TickerHeartbeat(SQLModel, table=True):
    """When each scheduler process last finished a pass (for `GET /healthz`).

    A deployment-level row, not a workspace's: the one table without `team_id`.
    """

    process: str = Field(primary_key=True, max_length=64)
    last_tick_at: datetime = moment()


class SlackRequest(SQLModel, table=True):
    """A Slack request that changed something, by the key naming its delivery (a modal's view
    id, or a request's timestamp and signature). Written in the transaction of the change, so a
    request Slack retries (`X-Slack-Retry-Num`) finds it and acts once."""

    __table_args__ = (UniqueConstraint("key", name="uq_slackrequest_key"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    key: str = Field(max_length=200)
    at: datetime = moment(index=True)


class RiskReview(SQLModel, table=True):
    """A risk review's answer: what its author said of each open concern (still open,
    mitigated, resolved, with the note) and the concern they raised, if any. The concerns
    themselves carry the changes (their events and audit); this keeps the review as given."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    engagement_id: int = parent("engagement")
    checkin_id: int | None = parent("checkin", nullable=True, ondelete="SET NULL")
    author: str = Field(max_length=SLACK_ID_LENGTH)
    answers: dict[str, Any] = json_field(dict)
    late: bool = False
    submitted_at: datetime = moment(index=True)


class Deliverable(SQLModel, table=True):
    """Something the vendor agreed to deliver by a date, and what "accepted" means for it.

    `due_on` is the date in the engagement's zone; `due_at` is its deadline in UTC: the end of
    that day there (midnight as the next day begins), so "due Friday" is late only from Saturday.
    `original_due_on` stays as first agreed; each re-plan adds one to `slip_count` and the days
    it moved to `days_slipped` (its events keep every old and new date). `acceptors` empty means
    the engagement's leads accept it. `submitted_at` starts the acceptance clock.
    """

    __table_args__ = (
        Index("ix_deliverable_status_due", "status", "due_at"),
        deliverable_status_check(),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    engagement_id: int = parent("engagement")
    title: str = Field(max_length=150)
    description: str = Field(default="", max_length=3000)
    acceptance_criteria: str = Field(default="", max_length=3000)
    milestone: str = Field(default="", max_length=80)
    due_on: date
    due_at: datetime = moment()
    original_due_on: date
    owner_user_id: str = Field(max_length=SLACK_ID_LENGTH, index=True)
    acceptors: list[str] = json_field()
    status: str = Field(default="planned", max_length=16)
    rework_count: int = 0
    slip_count: int = 0
    days_slipped: int = 0
    evidence_link: str = Field(default="", max_length=500)
    evidence_note: str = Field(default="", max_length=3000)
    evidence_file_id: str | None = Field(default=None, max_length=SLACK_ID_LENGTH)
    evidence_file_permalink: str | None = Field(default=None, max_length=500)
    channel_id: str | None = Field(default=None, max_length=SLACK_ID_LENGTH)
    message_ts: str | None = Field(default=None, max_length=32)
    created_by: str = Field(max_length=SLACK_ID_LENGTH)
    created_at: datetime = moment()
    updated_at: datetime = moment()
    submitted_at: datetime | None = moment(nullable=True)
    accepted_at: datetime | None = moment(nullable=True)
    cancelled_at: datetime | None = moment(nullable=True)


class DeliverableEvent(SQLModel, table=True):
    """A change of a deliverable: who, when, what (created, started, submitted, accepted,
    rejected, replanned, cancelled), from which status to which, the note (a reason, the
    evidence) and what else it changed (`data`: a re-plan's old and new due date and days)."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    deliverable_id: int = parent("deliverable")
    actor_user_id: str = Field(max_length=SLACK_ID_LENGTH)
    action: str = Field(max_length=16)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    note: str = Field(default="", max_length=3000)
    data: dict[str, Any] = json_field(dict)
    at: datetime = moment()


class Question(SQLModel, table=True):
    """One version of a custom question, asked after a check-in form's built-in fields.

    A version is never changed once answers may point at it: an edit retires it
    (`retired_at`) and adds the next version under the same `key`, so an answer keeps the
    question exactly as it was asked (text, type, options, target) and a prefill can tell
    "unchanged" by the version's id. `position` (the order) is the one column that moves.
    `cadence_id` None: the engagement's default questions, copied onto its new cadences.
    `rule`: `{"on": [answers], "action": "concern"|"alert", "severity", "category",
    "owner"}`, or empty (see `bot/domain/questions/definition.py`).
    """

    __table_args__ = (Index("ix_question_current", "engagement_id", "cadence_id", "retired_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    engagement_id: int = parent("engagement")
    cadence_id: int | None = parent("cadence", nullable=True)
    key: str = Field(max_length=16)
    position: int = 0
    text: str = Field(max_length=300)
    kind: str = Field(max_length=16)
    required: bool = False
    help: str = Field(default="", max_length=300)
    options: list[str] = json_field()
    unit: str = Field(default="", max_length=16)
    target: float | None = None
    tolerance: float | None = None
    higher_is_better: bool = True
    rule: dict[str, Any] = json_field(dict)
    created_by: str = Field(max_length=SLACK_ID_LENGTH)
    created_at: datetime = moment()
    retired_at: datetime | None = moment(nullable=True)


class QuestionAnswer(SQLModel, table=True):
    """One answer to one custom question, on the form that carried it.

    `question_id` is the version asked (never rewritten, see `Question`). `source` names the
    form's record (`update`, `feedback`, `risk_review`) and `source_id` its row: an edited
    update replaces its answers. An anonymous survey answer has no author and the survey
    batch's moment, like its feedback row. `value` is the answer as stored for reading back
    (text, a number, a list of choices, true/false, an ISO date); `number` the figure trends
    read (a number, a rating, yes as 1 and no as 0).
    """

    __table_args__ = (
        UniqueConstraint("source", "source_id", "question_id", name="uq_questionanswer_source"),
        Index("ix_questionanswer_engagement_answered", "engagement_id", "answered_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    engagement_id: int = parent("engagement")
    question_id: int = parent("question")
    question_key: str = Field(max_length=16)
    checkin_id: int | None = parent("checkin", nullable=True, ondelete="SET NULL")
    source: str = Field(max_length=16)
    source_id: int
    author_user_id: str | None = Field(default=None, max_length=SLACK_ID_LENGTH)
    value: Any = Field(default=None, sa_type=JSON, nullable=True)
    number: float | None = None
    answered_at: datetime = moment()


class QuestionRuleFired(SQLModel, table=True):
    """A question's rule fired for one check-in (or one ad hoc answer): the unique scope makes
    a second concern or alert for the same check-in and question impossible, whoever submits
    or edits the form again, in any process."""

    __table_args__ = (
        UniqueConstraint("scope", "question_key", name="uq_questionrulefired_scope_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    engagement_id: int = parent("engagement")
    scope: str = Field(max_length=40)  # "checkin:12", or "update:7" for an ad hoc answer
    question_key: str = Field(max_length=16)
    answer_id: int | None = parent("questionanswer", nullable=True, ondelete="SET NULL")
    action: str = Field(max_length=16)
    concern_id: int | None = parent("concern", nullable=True, ondelete="SET NULL")
    fired_at: datetime = moment()


class AssuranceType(SQLModel, table=True):
    """A kind of evidence a workspace's admins added beside the built-in ones (SOC 2, ISO 27001,
    …: `bot/domain/assurance/types.py`)."""

    __table_args__ = (UniqueConstraint("team_id", "key", name="uq_assurancetype_team_key"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    key: str = Field(max_length=40)
    name: str = Field(max_length=80)
    expires: bool = True  # evidence of this kind is valid until a date
    created_by: str = Field(max_length=SLACK_ID_LENGTH)
    created_at: datetime = moment()


class AssuranceRequirement(SQLModel, table=True):
    """A kind of evidence every new engagement of a criticality asks its vendor for (set by the
    workspace's admins: due diligence)."""

    __table_args__ = (
        UniqueConstraint(
            "team_id", "criticality", "type_key", name="uq_assurancerequirement_team_type"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    criticality: str = Field(max_length=8)
    type_key: str = Field(max_length=40)
    created_by: str = Field(max_length=SLACK_ID_LENGTH)
    created_at: datetime = moment()


class AssuranceItem(SQLModel, table=True):
    """One piece of the vendor's security evidence on an engagement: what kind, who provides it
    (a vendor contact) and who reviews it (none named: the leads), its status, the evidence (a
    link or a Slack file: its id and permalink, never its bytes) and how long it is valid.

    `required` marks due diligence (asked at the start by the engagement's criticality).
    `concern_id` is the security concern its expiry raised, resolved by an accepted renewal.
    """

    __table_args__ = (
        Index("ix_assuranceitem_status_until", "status", "valid_until"),
        assurance_status_check(),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    engagement_id: int = parent("engagement")
    type_key: str = Field(max_length=40)
    title: str = Field(max_length=150)
    required: bool = False
    status: str = Field(default="requested", max_length=16)
    owner_user_id: str = Field(max_length=SLACK_ID_LENGTH, index=True)
    reviewers: list[str] = json_field()
    valid_from: date | None = None
    valid_until: date | None = None
    evidence_link: str = Field(default="", max_length=500)
    evidence_note: str = Field(default="", max_length=3000)
    evidence_file_id: str | None = Field(default=None, max_length=SLACK_ID_LENGTH)
    evidence_file_permalink: str | None = Field(default=None, max_length=500)
    reason: str = Field(default="", max_length=3000)  # the last rejection's or the waiver's
    open_findings: int | None = None  # a penetration test's findings still open
    rounds: int = 0  # how often it was provided (a rejection or an expiry asks again)
    concern_id: int | None = parent("concern", nullable=True, ondelete="SET NULL")
    channel_id: str | None = Field(default=None, max_length=SLACK_ID_LENGTH)
    message_ts: str | None = Field(default=None, max_length=32)
    created_by: str = Field(max_length=SLACK_ID_LENGTH)
    created_at: datetime = moment()
    updated_at: datetime = moment()
    requested_at: datetime = moment()
    received_at: datetime | None = moment(nullable=True)
    reviewed_at: datetime | None = moment(nullable=True)


class AssuranceEvent(SQLModel, table=True):
    """A change of an assurance item: who, when, what (requested, provided, accepted, rejected,
    waived, expired), from which status to which, with the note (a reason, the evidence)."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_field()
    item_id: int = parent("assuranceitem")
    actor_user_id: str = Field(max_length=SLACK_ID_LENGTH)
    action: str = Field(max_length=16)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    note: str = Field(default="", max_length=3000)
    data: dict[str, Any] = json_field(dict)
    at: datetime = moment()


# Slack's OAuth tables, as slack_sdk's SQLAlchemy installation and state stores define them
# (`storage/oauth_tables.py`, which says why they are written out), on this metadata so that
# Alembic owns them like every other table (migration 0013).
SLACK_INSTALLATIONS = oauth_tables.installations_table(SQLModel.metadata)
SLACK_BOTS = oauth_tables.bots_table(SQLModel.metadata)
# The secrets these tables hold, stored encrypted (`storage/encryption.py`; migration 0023
# widened them for the ciphertext: a Fernet token of a 255-character secret is 420 characters).
# Cadence asks for bot tokens only; a user token or webhook URL would be sealed all the same.
SEALED_LENGTH = 1000
SEALED_COLUMNS = {
    SLACK_INSTALLATIONS: (
        "bot_token",
        "bot_refresh_token",
        "user_token",
        "user_refresh_token",
        "incoming_webhook_url",
    ),
    SLACK_BOTS: ("bot_token", "bot_refresh_token"),
}
for _table, _names in SEALED_COLUMNS.items():
    for _name in _names:
        _table.c[_name].type = String(SEALED_LENGTH)
SLACK_OAUTH_STATES = oauth_tables.states_table(SQLModel.metadata)


class RoundupItem(SQLModel, table=True):
    """A notice held for a person's daily round-up instead of a DM of its own (an update that
    is red or missed a KPI): one line, unique by the notice's key, marked with the round-up
    that takes it (`roundup_key`, NULL until then) and deleted in that round-up's transaction.
    Migration 0031."""

    __table_args__ = (
        UniqueConstraint("key", name="uq_roundupitem_key"),
        Index("ix_roundupitem_person_pending", "team_id", "user_id", "roundup_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID_LENGTH)
    user_id: str = Field(max_length=SLACK_ID_LENGTH)
    key: str = Field(max_length=200)
    engagement_id: int | None = parent("engagement", nullable=True)
    line: str = Field(max_length=2000)
    created_at: datetime = moment()
    roundup_key: str | None = Field(default=None, max_length=200)

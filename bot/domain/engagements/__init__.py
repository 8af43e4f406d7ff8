"""Engagements: create, edit, list, archive; who may manage them; what a valid one is.

Independent of Slack payload shapes: the handlers hand in plain values keyed by field name and
get back rows, or a `FieldErrors` naming the fields to fix. Nothing is written unless all of it
is valid, and every change records an audit event in the same transaction.

One module per job: `definition` (what an engagement holds, its limits, the handle),
`validation` (the form's input grammar; pure), `permissions` (who may change one), `queries`
(by id or handle, lists paged in the query, details set-based), `writes` (create, edit,
archive). This package re-exports their public names, so callers write `engagements.get(...)`
and need not know which.
"""

from bot.domain.engagements.definition import (
    DEFAULT_RESOLVE_HOURS,
    DEFAULT_SLA_HOURS,
    MAX_HANDLE,
    MAX_HOLIDAYS,
    MAX_KPI_NAME,
    MAX_KPI_UNIT,
    MAX_KPIS,
    MAX_NAME,
    MAX_PEOPLE_PER_ROLE,
    MAX_SLA_HOURS,
    MAX_VENDOR,
    PAUSE_CONCERN_CLOCK,
    ROLES,
    SEVERITIES,
    SUMMARIES_IN_CHANNEL,
    EngagementDetails,
    EngagementInput,
    KpiSpec,
    columns,
    format_number,
    slugify,
    snapshot,
)
from bot.domain.engagements.permissions import (
    may_manage,
    require_manager,
)
from bot.domain.engagements.queries import (
    RAG_RANK,
    EngagementPage,
    PersonPage,
    find,
    get,
    load_details,
    load_many,
    member_of,
    page,
    page_for_person,
    people_with_role,
)
from bot.domain.engagements.validation import (
    KPI_EXAMPLE,
    KPI_LINE,
    KPI_SYNTAX,
    KPI_TOLERANCE_EXAMPLE,
    normalize_timezone,
    parse_holidays,
    parse_kpis,
    validate,
)
from bot.domain.engagements.writes import (
    archive,
    create,
    update,
)

__all__ = [
    "DEFAULT_RESOLVE_HOURS",
    "DEFAULT_SLA_HOURS",
    "KPI_EXAMPLE",
    "KPI_LINE",
    "KPI_SYNTAX",
    "KPI_TOLERANCE_EXAMPLE",
    "MAX_HANDLE",
    "MAX_HOLIDAYS",
    "MAX_KPIS",
    "MAX_KPI_NAME",
    "MAX_KPI_UNIT",
    "MAX_NAME",
    "MAX_PEOPLE_PER_ROLE",
    "MAX_SLA_HOURS",
    "MAX_VENDOR",
    "PAUSE_CONCERN_CLOCK",
    "RAG_RANK",
    "ROLES",
    "SEVERITIES",
    "SUMMARIES_IN_CHANNEL",
    "EngagementDetails",
    "EngagementInput",
    "EngagementPage",
    "KpiSpec",
    "PersonPage",
    "archive",
    "columns",
    "create",
    "find",
    "format_number",
    "get",
    "load_details",
    "load_many",
    "may_manage",
    "member_of",
    "normalize_timezone",
    "page",
    "page_for_person",
    "parse_holidays",
    "parse_kpis",
    "people_with_role",
    "require_manager",
    "slugify",
    "snapshot",
    "update",
    "validate",
]

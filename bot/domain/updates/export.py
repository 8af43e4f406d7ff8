"""A status update's part of the CSV export: `updates.csv` (each update as its latest
revision has it) and `kpi_values.csv` (each KPI figure with the target, tolerance and direction
its revision recorded, not the KPI's current target)."""

from __future__ import annotations

from sqlmodel import col, select

from bot.domain import figures
from bot.domain.export_files import (
    ExportFile,
    ExportScope,
    at_columns,
    number,
    who,
    who_columns,
    write_csv,
)
from bot.domain.updates.evidence import KpiOutcome
from storage.models import KpiDefinition, KpiValue, StatusUpdate, UpdateRevision


def export_files(scope: ExportScope) -> tuple[ExportFile, ...]:
    """The range's updates and their KPI figures, in three SELECTs."""
    updates = scope.session.exec(
        select(StatusUpdate)
        .where(StatusUpdate.engagement_id == scope.engagement_id)
        .where(*scope.within(col(StatusUpdate.submitted_at)))
        .order_by(col(StatusUpdate.submitted_at), col(StatusUpdate.id))
    ).all()
    update_ids = [u.id for u in updates]
    kpi_rows = scope.session.exec(
        select(KpiValue, KpiDefinition)
        .join(KpiDefinition, col(KpiDefinition.id) == col(KpiValue.kpi_id))
        .where(col(KpiValue.update_id).in_(update_ids or [-1]))
        .order_by(col(KpiValue.update_id), col(KpiDefinition.position))
    ).all()
    # Each figure as its update's latest revision recorded it (what `figures` reads), with the
    # target, tolerance and direction then, by update and KPI.
    revisions = scope.session.exec(
        select(UpdateRevision.update_id, UpdateRevision.content)
        .join(
            StatusUpdate,
            (col(StatusUpdate.id) == col(UpdateRevision.update_id))
            & (col(StatusUpdate.revision) == col(UpdateRevision.revision)),
        )
        .where(col(UpdateRevision.update_id).in_(update_ids or [-1]))
    ).all()
    reports = {
        (update_id, r.kpi_id): r
        for update_id, content in revisions
        for r in figures.kpi_reports(content or {})
    }

    def kpi_row(v: KpiValue, k: KpiDefinition) -> list[object]:
        r = reports.get((v.update_id, v.kpi_id))
        if r is None:  # no revision recorded it: only whether it met its target is known
            outcome = KpiOutcome.MET if v.met_target else KpiOutcome.MISSED
            return [v.update_id, k.name, k.unit, v.value, "", "", "", outcome.value,
                    v.met_target]  # fmt: skip
        return [v.update_id, k.name, k.unit, r.value, number(r.target), number(r.tolerance),
                r.higher_is_better, r.outcome.value, r.outcome is KpiOutcome.MET]  # fmt: skip

    return (
        ExportFile(
            "updates.csv",
            len(updates),
            write_csv(
                ["update_id", *at_columns("submitted_at"), *who_columns("author"), "rag",
                 "reason", "summary", "accomplishments", "next_steps", "blockers", "confidence",
                 "late", "revision"],
                [[u.id, *scope.at(u.submitted_at), *who(u.author_user_id), u.rag, u.reason,
                  u.summary,
                  u.accomplishments, u.next_steps, u.blockers, u.confidence, u.late, u.revision]
                 for u in updates],
            ),
        ),
        ExportFile(
            "kpi_values.csv",
            len(kpi_rows),
            write_csv(
                ["update_id", "kpi", "unit", "value", "target", "tolerance", "higher_is_better",
                 "outcome", "met_target"],
                [kpi_row(v, k) for v, k in kpi_rows],
            ),
        ),
    )  # fmt: skip

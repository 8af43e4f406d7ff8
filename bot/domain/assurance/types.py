"""The kinds of evidence a vendor provides, the engagement's criticality, and which kinds each
criticality requires by default (a workspace's admins may set their own:
`storage.models.AssuranceRequirement`).

A kind is known by its key (stored on every item), so its name can change without touching
stored items; a workspace's own kinds (`storage.models.AssuranceType`) sit beside these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

CRITICALITIES = ("high", "medium", "low")
DEFAULT_CRITICALITY = "medium"
CRITICALITY_LABELS = {
    "high": "High: critical systems or personal data",
    "medium": "Medium",
    "low": "Low: no access to systems or data",
}


@dataclass(frozen=True)
class EvidenceType:
    key: str
    name: str
    expires: bool = True  # valid until a date (a certificate, a report's period, a policy)
    findings: bool = False  # a penetration test: how many findings are still open


BUILT_IN: tuple[EvidenceType, ...] = (
    EvidenceType("soc2_type2", "SOC 2 Type II report"),
    EvidenceType("iso27001", "ISO 27001 certificate"),
    EvidenceType("pen_test", "Penetration test", findings=True),
    EvidenceType("dpa", "Data processing agreement", expires=False),
    EvidenceType("cyber_insurance", "Cyber insurance"),
    EvidenceType("bcp_test", "Business continuity test"),
    EvidenceType("background_checks", "Background checks"),
)
BY_KEY: dict[str, EvidenceType] = {t.key: t for t in BUILT_IN}

# When a workspace's admins have set no requirements: what a careful client asks for.
DEFAULT_REQUIREMENTS: Mapping[str, tuple[str, ...]] = {
    "high": (
        "soc2_type2", "iso27001", "pen_test", "dpa", "cyber_insurance", "bcp_test",
    ),
    "medium": ("soc2_type2", "pen_test", "dpa"),
    # No access to systems or data: no personal data processed (no DPA), nothing to certify.
    "low": (),
}  # fmt: skip


def known(custom: Iterable[EvidenceType] = ()) -> dict[str, EvidenceType]:
    """Every kind a workspace knows: the built-in ones and its own."""
    return {**BY_KEY, **{t.key: t for t in custom}}


def name_of(key: str, custom: Iterable[EvidenceType] = ()) -> str:
    found = known(custom).get(key)
    return found.name if found else key.replace("_", " ")

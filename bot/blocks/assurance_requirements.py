"""The workspace's due diligence, as its stewards set it (`/cadence assurance requirements`):
per criticality the kinds of evidence a new engagement asks its vendor for, and a kind of the
workspace's own to add. Pure: data in, a modal (or a confirmation) out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.models.blocks import (
    CheckboxesElement,
    HeaderBlock,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticMultiSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks.common import context, escape, message, section
from bot.domain.assurance.diligence import (
    EXPIRES,
    MAX_KIND_NAME,
    NEW_KIND_EXPIRES,
    NEW_KIND_FOR,
    NEW_KIND_NAME,
    REQUIRE_FIELD,
)
from bot.domain.assurance.types import CRITICALITIES, CRITICALITY_LABELS, EvidenceType

REQUIREMENTS_MODAL = "assurance_requirements"
MAX_OPTION_TEXT = 75
MAX_OPTIONS = 100


def _label(text: str) -> str:
    return text if len(text) <= MAX_OPTION_TEXT else text[: MAX_OPTION_TEXT - 1] + "…"


def requirements_modal(
    kinds: Sequence[EvidenceType],
    chosen: Mapping[str, Sequence[str]],
    *,
    using_defaults: bool,
) -> dict[str, Any]:
    """The form, filled in with what each criticality requires now."""
    options = {k.key: Option(value=k.key, label=_label(k.name)) for k in kinds[:MAX_OPTIONS]}
    where = (
        "Cadence's defaults apply until you save: a careful client's list."
        if using_defaults
        else "Your workspace's own choice. Clear all three to go back to Cadence's defaults."
    )
    blocks: list[Any] = [
        section(
            "What a new engagement asks its vendor for at the start, by the criticality on its "
            "form. Engagements created before a change keep what they were asked for."
        ),
        context(where),
    ]
    for criticality in CRITICALITIES:
        initial = [options[k] for k in chosen.get(criticality, ()) if k in options]
        blocks.append(
            InputBlock(
                block_id=REQUIRE_FIELD.format(criticality),
                label=_label(CRITICALITY_LABELS[criticality]),
                optional=True,
                element=StaticMultiSelectElement(
                    action_id=REQUIRE_FIELD.format(criticality),
                    placeholder="Nothing required",
                    options=list(options.values()),
                    initial_options=initial or None,
                ),
            )
        )
    expires = Option(
        value=EXPIRES,
        label="It expires",
        description="Valid until a date, like a certificate: its owner is reminded to renew it.",
    )
    blocks += [
        HeaderBlock(text="A kind of your own"),
        InputBlock(
            block_id=NEW_KIND_NAME,
            label="Name",
            optional=True,
            hint="Added to the kinds every engagement of this workspace can ask for.",
            element=PlainTextInputElement(
                action_id=NEW_KIND_NAME,
                placeholder="Red team exercise",
                max_length=MAX_KIND_NAME,
            ),
        ),
        InputBlock(
            block_id=NEW_KIND_EXPIRES,
            label="Validity",
            optional=True,
            element=CheckboxesElement(
                action_id=NEW_KIND_EXPIRES, options=[expires], initial_options=[expires]
            ),
        ),
        InputBlock(
            block_id=NEW_KIND_FOR,
            label="Require it for",
            optional=True,
            element=CheckboxesElement(
                action_id=NEW_KIND_FOR,
                options=[Option(value=c, label=c.capitalize()) for c in CRITICALITIES],
            ),
        ),
    ]
    return View(
        type="modal",
        callback_id=REQUIREMENTS_MODAL,
        title="Due diligence",
        submit="Save",
        close="Cancel",
        blocks=blocks,
    ).to_dict()


def requirements_saved(
    chosen: Mapping[str, Sequence[str]], names: Mapping[str, str]
) -> dict[str, Any]:
    """The steward's confirmation: what each criticality requires now."""
    lines = []
    for criticality in CRITICALITIES:
        kinds = [escape(names.get(k, k)) for k in chosen.get(criticality, ())]
        lines.append(f"*{criticality.capitalize()}*: {', '.join(kinds) or 'nothing'}")
    text = "Due diligence saved. A new engagement asks its vendor for:\n" + "\n".join(lines)
    return message(text, [section(text)])

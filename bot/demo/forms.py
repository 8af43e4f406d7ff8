"""Forms the way a person fills them in: by what they read, not by the app's internal ids.

The story names a KPI by its name (`"kpi:Uptime"`), a custom question by the start of its text
(`"question:Were this period's access reviews"`, answered by an option's text) and a blocker
that still blocks by its text; `fill` finds the field or option the app rendered for it. `shown_fields` gives what the person
sent as the transcript shows a form: each field's label and the value as they saw it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from bot.demo.slack_sim import build_view_state

KPI_PREFIX = "kpi:"
QUESTION_PREFIX = "question:"


def _inputs(view: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for block in view.get("blocks") or []:
        if block.get("type") == "input" and isinstance(block.get("element"), dict):
            yield block


def _label(block: Mapping[str, Any]) -> str:
    return str((block.get("label") or {}).get("text") or "")


def _option_text(option: Mapping[str, Any]) -> str:
    return str((option.get("text") or {}).get("text") or "")


def fill(view: Mapping[str, Any], form: Mapping[str, Any]) -> dict[str, Any]:
    """The values by action id for `form`: KPI figures by their KPI's name, checkbox choices by
    their option's text (an option whose text starts with the given text)."""
    values: dict[str, Any] = {}
    by_action = {block["element"].get("action_id"): block for block in _inputs(view)}
    for key, value in form.items():
        if key.startswith(QUESTION_PREFIX):
            text = key[len(QUESTION_PREFIX) :]
            block = next((b for b in _inputs(view) if _label(b).startswith(text)), None)
            if block is None:
                raise ValueError(f"the form asks no question starting {text!r}")
            element = block["element"]
            if element.get("type") in ("radio_buttons", "static_select"):
                value = _option_value(element, value)
            elif element.get("type") == "checkboxes" and isinstance(value, list):
                value = [_option_value(element, v) for v in value]
            values[element["action_id"]] = value
            continue
        if key.startswith(KPI_PREFIX):
            name = key[len(KPI_PREFIX) :]
            block = next((b for b in _inputs(view) if _label(b).startswith(name)), None)
            if block is None:
                raise ValueError(f"the form has no field for the KPI {name!r}")
            values[block["element"]["action_id"]] = value
            continue
        block = by_action.get(key)
        element = block["element"] if block else {}
        if element.get("type") == "checkboxes" and isinstance(value, list):
            values[key] = [_option_value(element, text) for text in value]
        else:
            values[key] = value
    return values


def _option_value(element: Mapping[str, Any], text: str) -> str:
    for option in element.get("options") or []:
        if option.get("value") == text or text.startswith(_option_text(option).rstrip("…")):
            return str(option["value"])
    raise ValueError(f"no option {text!r} in {element.get('action_id')!r}")


def shown_fields(
    view: Mapping[str, Any],
    values: Mapping[str, Any],
    people: Mapping[str, str],
    channels: Mapping[str, str],
) -> tuple[tuple[str, str], ...]:
    """(label, value as shown) for each field the form is sent with, in the form's order."""
    state = build_view_state(dict(view), dict(values), check_required=False)["values"]
    shown: list[tuple[str, str]] = []
    for block in _inputs(view):
        element = block["element"]
        entry = state.get(block.get("block_id"), {}).get(element.get("action_id"), {})
        text = _shown(entry, people, channels)
        if text:
            shown.append((_label(block), text))
    return tuple(shown)


def _shown(entry: Mapping[str, Any], people: Mapping[str, str], channels: Mapping[str, str]):
    if entry.get("value") not in (None, ""):
        return str(entry["value"])
    if entry.get("selected_option"):
        return _option_text(entry["selected_option"])
    if entry.get("selected_options"):
        return ", ".join(_option_text(o) for o in entry["selected_options"])
    if entry.get("selected_user"):
        return "@" + people.get(entry["selected_user"], entry["selected_user"])
    if entry.get("selected_users"):
        return ", ".join("@" + people.get(u, u) for u in entry["selected_users"])
    for key in ("selected_conversation", "selected_channel"):
        if entry.get(key):
            return "#" + channels.get(entry[key], entry[key])
    for key in ("selected_conversations", "selected_channels"):
        if entry.get(key):
            return ", ".join("#" + channels.get(c, c) for c in entry[key])
    for key in ("selected_date", "selected_time"):
        if entry.get(key):
            return str(entry[key])
    return ""

"""Block Kit as plain dicts, for the forms a request opens often (the check-in's update form and
its custom questions): the same JSON slack_sdk's block objects give from `to_dict()`, and the
same limits they check, without their cost.

slack_sdk's objects find their attributes by reflection and run every validator of every object
at `to_dict()`: building the update form that way was a third of the CPU of the prompt's answer
button (bench/README.md, "profile_requests"). Here each constructor is a dict literal and checks
only the limits that apply to it, with one `len` each; a breach raises `BlockKitLimit` (as
slack_sdk's `SlackObjectFormationError` did) rather than reaching Slack. The builders keep
within the limits in the first place (labels cut at 2,000 characters, options at 75); the
stand-in Slack (`bot/demo/fake_slack/blocks.py`) parses every view the tests open with slack_sdk's
models and refuses what Slack would.

Limits: https://docs.slack.dev/reference/block-kit/blocks,
https://docs.slack.dev/reference/block-kit/block-elements,
https://docs.slack.dev/reference/block-kit/composition-objects and
https://docs.slack.dev/reference/views/modal-views.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Block = dict[str, Any]

MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_LABEL = 2000  # an input block's label and hint
MAX_PLACEHOLDER = 150
MAX_OPTION_TEXT = 75  # an option's text and description
MAX_OPTION_VALUE = 150
MAX_SELECT_OPTIONS = 100
MAX_CHOICES = 10  # radio buttons and checkboxes
MAX_ID = 255  # a block_id, action_id or callback_id
MAX_TEXT_INPUT = 3000  # a plain-text input's max_length
MAX_MODAL_TEXT = 24  # a modal's title, submit and close
MAX_METADATA = 3000
MAX_VIEW_BLOCKS = 100
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000


class BlockKitLimit(ValueError):
    """A block or view beyond one of Slack's limits: a builder's bug, refused here rather
    than by Slack (`invalid_arguments`) after the trigger has been spent."""


def _within(what: str, value: str | Sequence[Any], limit: int) -> None:
    if len(value) > limit:
        raise BlockKitLimit(f"{what} holds at most {limit}, not {len(value)}")


def plain(text: str) -> dict[str, Any]:
    """A plain_text object (emoji shown as emoji, as slack_sdk's default)."""
    return {"type": "plain_text", "text": text, "emoji": True}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def section(
    text: str, *, block_id: str | None = None, accessory: dict[str, Any] | None = None
) -> Block:
    if not text:
        raise BlockKitLimit("a section's text is empty")
    _within("a section's text", text, MAX_SECTION_TEXT)
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if block_id is not None:
        _within("a block_id", block_id, MAX_ID)
        block["block_id"] = block_id
    if accessory is not None:
        block["accessory"] = accessory
    return block


def divider() -> Block:
    return {"type": "divider"}


def context(*texts: str) -> Block:
    _within("a context block's elements", texts, MAX_CONTEXT_ELEMENTS)
    return {"type": "context", "elements": [mrkdwn(t) for t in texts]}


def header(text: str) -> Block:
    _within("a header's text", text, MAX_HEADER_TEXT)
    return {"type": "header", "text": plain(text)}


def option(value: str, text: str, description: str | None = None) -> dict[str, Any]:
    _within("an option's text", text, MAX_OPTION_TEXT)
    _within("an option's value", value, MAX_OPTION_VALUE)
    found = {"text": plain(text), "value": value}
    if description is not None:
        _within("an option's description", description, MAX_OPTION_TEXT)
        found["description"] = plain(description)
    return found


def input_block(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool | None = None,
    hint: str | None = None,
) -> Block:
    """An input block. `optional` None leaves the key out (Slack's default: required)."""
    _within("a block_id", block_id, MAX_ID)
    _within("an input's label", label, MAX_LABEL)
    block = {"type": "input", "block_id": block_id, "label": plain(label), "element": element}
    if optional is not None:
        block["optional"] = optional
    if hint is not None:
        _within("an input's hint", hint, MAX_LABEL)
        block["hint"] = plain(hint)
    return block


def button(text: str, action_id: str, value: str) -> dict[str, Any]:
    """A button (no style: Slack's default look)."""
    _within("a button's text", text, MAX_BUTTON_TEXT)
    _within("a button's value", value, MAX_BUTTON_VALUE)
    element = _element("button", action_id, None)
    element["text"] = plain(text)
    element["value"] = value
    return element


def _element(kind: str, action_id: str, placeholder: str | None) -> dict[str, Any]:
    _within("an action_id", action_id, MAX_ID)
    element = {"type": kind, "action_id": action_id}
    if placeholder is not None:
        _within("a placeholder", placeholder, MAX_PLACEHOLDER)
        element["placeholder"] = plain(placeholder)
    return element


def text_input(
    action_id: str,
    *,
    multiline: bool | None = None,
    max_length: int | None = None,
    placeholder: str | None = None,
    initial_value: str | None = None,
) -> dict[str, Any]:
    element = _element("plain_text_input", action_id, placeholder)
    if multiline is not None:
        element["multiline"] = multiline
    if max_length is not None:
        if not 0 < max_length <= MAX_TEXT_INPUT:
            raise BlockKitLimit(f"a text input's max_length is 1 to {MAX_TEXT_INPUT}")
        element["max_length"] = max_length
    if initial_value is not None:
        element["initial_value"] = initial_value
    return element


def number_input(
    action_id: str,
    *,
    decimal: bool,
    initial_value: str | None = None,
    placeholder: str | None = None,
) -> dict[str, Any]:
    element = _element("number_input", action_id, placeholder)
    element["is_decimal_allowed"] = decimal
    if initial_value is not None:
        element["initial_value"] = initial_value
    return element


def static_select(
    action_id: str,
    options: list[dict[str, Any]],
    *,
    placeholder: str | None = None,
    initial: dict[str, Any] | None = None,
) -> dict[str, Any]:
    if not options:
        raise BlockKitLimit("a select needs options")
    _within("a select's options", options, MAX_SELECT_OPTIONS)
    element = _element("static_select", action_id, placeholder)
    element["options"] = options
    if initial is not None:
        element["initial_option"] = initial
    return element


def radio_buttons(
    action_id: str, options: list[dict[str, Any]], *, initial: dict[str, Any] | None = None
) -> dict[str, Any]:
    _within("radio buttons' options", options, MAX_CHOICES)
    element = _element("radio_buttons", action_id, None)
    element["options"] = options
    if initial is not None:
        element["initial_option"] = initial
    return element


def checkboxes(
    action_id: str,
    options: list[dict[str, Any]],
    *,
    initial: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    _within("checkboxes' options", options, MAX_CHOICES)
    element = _element("checkboxes", action_id, None)
    element["options"] = options
    if initial:
        element["initial_options"] = initial
    return element


def datepicker(action_id: str, *, initial_date: str | None = None) -> dict[str, Any]:
    """A date picker; `initial_date` is YYYY-MM-DD (a `date.isoformat()`)."""
    element = _element("datepicker", action_id, None)
    if initial_date is not None:
        if len(initial_date) != 10 or initial_date[4] != "-" or initial_date[7] != "-":
            raise BlockKitLimit(f"a date picker's initial_date is YYYY-MM-DD, not {initial_date!r}")
        element["initial_date"] = initial_date
    return element


def home(blocks: list[Block]) -> dict[str, Any]:
    """A Home tab view, within Slack's 100 blocks."""
    _within("a Home tab's blocks", blocks, MAX_VIEW_BLOCKS)
    return {"type": "home", "blocks": blocks}


def modal(
    *,
    callback_id: str,
    title: str,
    blocks: list[Block],
    submit: str | None = None,
    close: str | None = None,
    private_metadata: str | None = None,
) -> dict[str, Any]:
    """A modal view, within Slack's 100 blocks, 24-character title, submit and close, and
    3,000 characters of private_metadata."""
    _within("a callback_id", callback_id, MAX_ID)
    _within("a modal's title", title, MAX_MODAL_TEXT)
    _within("a modal's blocks", blocks, MAX_VIEW_BLOCKS)
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title),
        "blocks": blocks,
    }
    for key, text in (("submit", submit), ("close", close)):
        if text is not None:
            _within(f"a modal's {key}", text, MAX_MODAL_TEXT)
            view[key] = plain(text)
    if private_metadata is not None:
        _within("a view's private_metadata", private_metadata, MAX_METADATA)
        view["private_metadata"] = private_metadata
    return view

"""Block Kit as Slack checks it: the errors Slack would answer for a message's blocks or a view.

Pure functions, no fake needed: the tests call `validate_message_blocks` and `validate_view`
on what the builders in bot/blocks/ return, and the stand-in Slack refuses what they refuse
(``invalid_blocks``, ``invalid_arguments``). slack_sdk's models parse each block; the limits
they do not check are Slack's own: up to 50 blocks in a message and 100 in a modal or Home
tab (https://docs.slack.dev/reference/block-kit/blocks); a modal's title, submit and close of
24 characters and a view's private_metadata of 3,000
(https://docs.slack.dev/reference/views/modal-views); a message's text of 40,000
(https://docs.slack.dev/reference/methods/chat.postMessage).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block, BlockElement
from slack_sdk.models.views import View

MESSAGE_MAX_BLOCKS = 50
VIEW_MAX_BLOCKS = 100
MESSAGE_TEXT_MAX = 40000

_KNOWN_ELEMENT_TYPES = frozenset(
    {getattr(c, "type", None) for c in BlockElement._get_sub_block_elements()} - {None}
) | {"plain_text", "mrkdwn"}
_CONTEXT_ELEMENT_TYPES = frozenset({"image", "plain_text", "mrkdwn"})
NON_INTERACTIVE_ELEMENT_TYPES = frozenset({"image", "plain_text", "mrkdwn"})


def _text_of(obj: Any) -> str:
    if isinstance(obj, dict):
        return str(obj.get("text", ""))
    if isinstance(obj, str):
        return obj
    return ""


def _check_element(el: Any, where: str, errors: list[str], allowed: Iterable[str] | None = None):
    if not isinstance(el, dict) or "type" not in el:
        errors.append(f"element must be an object with a type [json-pointer:{where}]")
        return
    kind = el["type"]
    allowed_set = set(allowed) if allowed is not None else _KNOWN_ELEMENT_TYPES
    if kind not in allowed_set or kind not in _KNOWN_ELEMENT_TYPES:
        errors.append(f"unsupported type `{kind}` [json-pointer:{where}/type]")
        return
    if "action_id" in el and len(str(el["action_id"])) > 255:
        errors.append(f"must be less than 256 characters [json-pointer:{where}/action_id]")


_PARSES, _UNSUPPORTED, _FORMATION, _INVALID = "parses", "unsupported", "formation", "invalid"


def _canonical(raw: dict[str, Any]) -> str:
    return json.dumps(raw, sort_keys=True, default=str)


@lru_cache(maxsize=8192)
def _parsed(block_json: str) -> tuple[str, str]:
    """slack_sdk's verdict on one block, given as its JSON: (verdict, detail). Remembered by
    the block's text, as the verdict depends on nothing else: a test run opens the same forms
    and posts the same cards thousands of times, and parsing each with slack_sdk's models was
    the larger part of the stand-in's own CPU."""
    try:
        parsed = Block.parse(json.loads(block_json))
        if parsed is None:
            return _UNSUPPORTED, ""
        parsed.to_dict()
    except SlackObjectFormationError as e:
        return _FORMATION, str(e)
    except (TypeError, ValueError, AttributeError, KeyError) as e:
        return _INVALID, str(e)
    return _PARSES, ""


def _block_errors(blocks: Any, *, limit: int, base: str = "/blocks") -> list[str]:
    """Errors Slack would report for a list of blocks; empty list when valid."""
    if blocks is None:
        return []
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{base}]"]
    errors: list[str] = []
    if len(blocks) > limit:
        errors.append(f"no more than {limit} items allowed [json-pointer:{base}]")
    seen_block_ids: set[str] = set()
    for i, raw in enumerate(blocks):
        where = f"{base}/{i}"
        if not isinstance(raw, dict) or not raw.get("type"):
            errors.append(f"must provide an object with a type [json-pointer:{where}]")
            continue
        kind = raw["type"]
        verdict, detail = _parsed(_canonical(raw))
        if verdict == _UNSUPPORTED:
            errors.append(f"unsupported type `{kind}` [json-pointer:{where}/type]")
            continue
        if verdict == _FORMATION:
            errors.append(f"{detail} [json-pointer:{where}]")
        elif verdict == _INVALID:
            errors.append(f"invalid block: {detail} [json-pointer:{where}]")
            continue
        block_id = raw.get("block_id")
        if block_id is not None:
            if len(str(block_id)) > 255:
                errors.append(f"must be less than 256 characters [json-pointer:{where}/block_id]")
            if block_id in seen_block_ids:
                errors.append(f"duplicate block_id `{block_id}` [json-pointer:{where}/block_id]")
            seen_block_ids.add(block_id)
        action_ids: set[str] = set()

        def note_action(el: Any, el_where: str, action_ids: set[str] = action_ids) -> None:
            if isinstance(el, dict) and el.get("action_id") is not None:
                aid = el["action_id"]
                if aid in action_ids:
                    errors.append(f"duplicate action_id `{aid}` [json-pointer:{el_where}]")
                action_ids.add(aid)

        if kind == "section":
            text, fields = raw.get("text"), raw.get("fields")
            if not text and not fields:
                errors.append(f"must provide `text` or `fields` [json-pointer:{where}]")
            if text is not None and len(_text_of(text)) > 3000:
                errors.append(f"must be less than 3001 characters [json-pointer:{where}/text]")
            if text is not None and len(_text_of(text)) < 1:
                errors.append(f"must be more than 0 characters [json-pointer:{where}/text]")
            for j, f in enumerate(fields or []):
                if len(_text_of(f)) > 2000:
                    errors.append(
                        f"must be less than 2001 characters [json-pointer:{where}/fields/{j}]"
                    )
            if fields is not None and len(fields) > 10:
                errors.append(f"no more than 10 items allowed [json-pointer:{where}/fields]")
            if raw.get("accessory") is not None:
                _check_element(raw["accessory"], f"{where}/accessory", errors)
                note_action(raw["accessory"], f"{where}/accessory")
        elif kind == "header":
            t = raw.get("text")
            if not isinstance(t, dict) or t.get("type") != "plain_text":
                errors.append(f"must be a plain_text object [json-pointer:{where}/text]")
            if len(_text_of(t)) > 150:
                errors.append(f"must be less than 151 characters [json-pointer:{where}/text]")
        elif kind == "input":
            if not raw.get("label"):
                errors.append(f"missing required field: label [json-pointer:{where}]")
            elif len(_text_of(raw["label"])) > 2000:
                errors.append(f"must be less than 2001 characters [json-pointer:{where}/label]")
            el = raw.get("element")
            if not el:
                errors.append(f"missing required field: element [json-pointer:{where}]")
            else:
                _check_element(el, f"{where}/element", errors)
                if isinstance(el, dict) and el.get("type") in NON_INTERACTIVE_ELEMENT_TYPES:
                    errors.append(f"unsupported type for input [json-pointer:{where}/element]")
        elif kind == "actions":
            els = raw.get("elements") or []
            if not els:
                errors.append(f"must provide at least 1 element [json-pointer:{where}/elements]")
            if len(els) > 25:
                errors.append(f"no more than 25 items allowed [json-pointer:{where}/elements]")
            for j, el in enumerate(els):
                _check_element(el, f"{where}/elements/{j}", errors)
                note_action(el, f"{where}/elements/{j}/action_id")
        elif kind == "context":
            els = raw.get("elements") or []
            if not els:
                errors.append(f"must provide at least 1 element [json-pointer:{where}/elements]")
            if len(els) > 10:
                errors.append(f"no more than 10 items allowed [json-pointer:{where}/elements]")
            for j, el in enumerate(els):
                _check_element(el, f"{where}/elements/{j}", errors, _CONTEXT_ELEMENT_TYPES)
    return errors


def validate_message_blocks(blocks: Any) -> list[str]:
    """Errors Slack would give for a message's ``blocks`` (empty when valid)."""
    return _block_errors(blocks, limit=MESSAGE_MAX_BLOCKS)


def validate_view(view: Any) -> list[str]:
    """Errors Slack would give for a modal / home ``view`` (empty when valid)."""
    if not isinstance(view, dict):
        return ["view must be an object [json-pointer:/view]"]
    errors: list[str] = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return [f"unsupported view type `{kind}` [json-pointer:/view/type]"]
    blocks = view.get("blocks")
    # The view's own fields by slack_sdk's model, with one divider standing for its blocks:
    # those are checked one by one below (the model would parse each a second time), and the
    # model's count check is kept here.
    try:
        View(**{**view, "blocks": [{"type": "divider"}]}).to_dict()
    except SlackObjectFormationError as e:
        errors.append(f"{e} [json-pointer:/view]")
    except (TypeError, ValueError, AttributeError, KeyError) as e:
        errors.append(f"invalid view: {e} [json-pointer:/view]")
    if isinstance(blocks, list) and not 0 < len(blocks) <= VIEW_MAX_BLOCKS:
        errors.append(
            f"views must contain between 1 and {VIEW_MAX_BLOCKS} blocks [json-pointer:/view]"
        )
    if blocks is None:
        errors.append("missing required field: blocks [json-pointer:/view]")
    errors += _block_errors(blocks, limit=VIEW_MAX_BLOCKS, base="/view/blocks")
    if kind == "modal":
        title = view.get("title")
        if not title:
            errors.append("missing required field: title [json-pointer:/view]")
        else:
            if isinstance(title, dict) and title.get("type") != "plain_text":
                errors.append("must be a plain_text object [json-pointer:/view/title]")
            if len(_text_of(title)) > 24:
                errors.append("must be less than 25 characters [json-pointer:/view/title/text]")
        for key in ("submit", "close"):
            if view.get(key) is not None and len(_text_of(view[key])) > 24:
                errors.append(f"must be less than 25 characters [json-pointer:/view/{key}/text]")
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks or [])
        if has_input and not view.get("submit"):
            errors.append("must provide submit when input blocks are present [json-pointer:/view]")
    elif view.get("submit") is not None or view.get("close") is not None:
        errors.append("home views cannot have submit or close [json-pointer:/view]")
    if len(str(view.get("private_metadata") or "")) > 3000:
        errors.append("must be less than 3001 characters [json-pointer:/view/private_metadata]")
    if len(str(view.get("callback_id") or "")) > 255:
        errors.append("must be less than 256 characters [json-pointer:/view/callback_id]")
    if len(str(view.get("external_id") or "")) > 255:
        errors.append("must be less than 256 characters [json-pointer:/view/external_id]")
    return list(dict.fromkeys(errors))


def walk_interactive(blocks: list[Any]) -> Iterable[dict[str, Any]]:
    for b in blocks:
        if not isinstance(b, dict):
            continue
        if isinstance(b.get("accessory"), dict):
            yield b["accessory"]
        if isinstance(b.get("element"), dict):
            yield b["element"]
        if b.get("type") == "actions":
            for el in b.get("elements") or []:
                if isinstance(el, dict):
                    yield el

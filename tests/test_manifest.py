"""The manifest a lead pastes into Slack offers what the app does, and asks for no more.

Checked against the code itself: the command and its usage hint against the `/cadence`
reference, the shortcut and events against the listeners bound in `handlers/__init__.py`, and
the scopes against every Web API method the app calls (a method not in `METHOD_SCOPES` fails
here until its scopes are written down).
"""

from __future__ import annotations

import re
from pathlib import Path

import handlers
from bot.domain.command_reference import REFERENCE
from handlers.workflow_steps import STEPS

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = (ROOT / "manifest.yml").read_text()

# Web API method (as slack_sdk names it) → the bot scopes it needs.
METHOD_SCOPES: dict[str, set[str]] = {
    "chat_postMessage": {"chat:write"},
    "chat_update": {"chat:write"},
    "conversations_history": {"channels:history", "groups:history", "im:history"},
    "conversations_replies": {"channels:history", "groups:history", "im:history"},
    "conversations_info": {"channels:read", "groups:read"},
    "conversations_join": {"channels:join"},
    "conversations_open": {"im:write"},
    "files_upload_v2": {"files:write"},
    "users_info": {"users:read"},
    "views_open": set(),
    "views_push": set(),
    "views_update": set(),
    "views_publish": set(),
    "auth_test": set(),
}
# The event a listener of handlers.EVENTS is subscribed under, and the scope that delivers it.
EVENT_SUBSCRIPTIONS = {"message": "message.im"}
EVENT_SCOPES = {"message.im": {"im:history"}}


def listed(section: str) -> list[str]:
    """The items of a YAML list under `section:` (without their comments)."""
    block = re.search(rf"^(\s*){section}:\n((?:\1\s+- .*\n|\s*#.*\n)+)", MANIFEST, re.MULTILINE)
    assert block, f"no list under {section} in manifest.yml"
    return re.findall(r"^\s+- ([^\s#]+)", block.group(2), flags=re.MULTILINE)


# The Web API's method families (a client's other attributes, `client.base_url`, are not calls).
FAMILIES = "|".join(
    ("admin", "apps", "auth", "bookmarks", "chat", "conversations", "files", "oauth", "pins",
     "reactions", "team", "usergroups", "users", "views")
)  # fmt: skip


def methods_called() -> set[str]:
    """Every Web API method the app's own code calls on a client, or hands on to be called
    (`_pages(client.conversations_history, …)`), the demo's stand-in aside."""
    found: set[str] = set()
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")]:
        if "demo" in path.relative_to(ROOT).parts:
            continue
        found |= set(re.findall(rf"\bclient\.((?:{FAMILIES})_[A-Za-z0-9_]+)\b", path.read_text()))
    return found


def test_every_request_url_is_the_one_path_the_app_serves():
    urls = re.findall(r"(?:url|request_url): (\S+)", MANIFEST)
    assert len(urls) == 3 and all(u.endswith("/slack/events") for u in urls)


def test_the_http_comment_counts_and_names_every_url_to_replace():
    """The header tells an HTTP installer which URLs to edit; it once said "all three" above four."""
    comment = "\n".join(line for line in MANIFEST.splitlines() if line.startswith("#"))
    paths = re.findall(r"^[^#]*https://YOUR-HOST(/\S+)", MANIFEST, re.MULTILINE)
    counts = {"two": 2, "three": 3, "four": 4, "five": 5}
    said = re.search(r"all (\w+) URLs", comment)
    assert said and counts[said.group(1)] == len(paths), (said, paths)
    assert all(path in comment for path in set(paths)), paths


def test_the_command_and_its_usage_hint_follow_the_reference():
    assert re.findall(r"- command: (\S+)", MANIFEST) == list(handlers.COMMANDS)
    hint = re.search(r'usage_hint: "([^"]+)"', MANIFEST).group(1)
    items = [item.strip() for item in hint.split("·")]
    assert len(items) >= 5 and len(hint) <= 1000
    for item in items:  # each one a form the reference lists as available
        assert any(s.available and s.usage.startswith(item) for s in REFERENCE), item
    assert "help" in items


def test_the_shortcuts_and_events_are_those_the_app_handles():
    assert re.findall(r"callback_id: (\S+)", MANIFEST) == list(handlers.SHORTCUTS)
    subscribed = {EVENT_SUBSCRIPTIONS.get(e, e) for e in handlers.EVENTS}
    if handlers.FUNCTIONS:  # Workflow Builder steps run on this event
        subscribed.add("function_executed")
    assert set(listed("bot_events")) == subscribed
    assert "home_tab_enabled: true" in MANIFEST
    # People may type in the Messages tab, and what they type is answered (handlers/messages.py).
    assert "messages_tab_enabled: true" in MANIFEST
    assert "messages_tab_read_only_enabled: false" in MANIFEST


def test_the_scopes_are_exactly_those_the_code_uses():
    called = methods_called()
    unknown = called - set(METHOD_SCOPES)
    assert not unknown, f"write down the scopes of {sorted(unknown)} in METHOD_SCOPES"
    needed = {"commands"} if handlers.COMMANDS or handlers.SHORTCUTS else set()
    for method in called:
        needed |= METHOD_SCOPES[method]
    for event in listed("bot_events"):
        needed |= EVENT_SCOPES.get(event, set())
    assert set(listed("bot")) == needed
    assert {"chat_postMessage", "users_info", "files_upload_v2"} <= called  # the scan works


def section(name: str) -> dict:
    """A top-level mapping of the manifest (keys, nested mappings, lists of scalars), read by
    indentation: enough of YAML for the `functions` section, without a YAML library."""
    lines = [line.split(" #")[0].rstrip() for line in MANIFEST.splitlines()]
    start = lines.index(f"{name}:")
    body = []
    for line in lines[start + 1 :]:
        if line and not line.startswith(" "):
            break
        if line.strip() and not line.strip().startswith("#"):
            body.append(line)
    root: dict = {}
    stack: list[tuple[int, dict | list]] = [(-1, root)]
    for i, line in enumerate(body):
        depth = len(line) - len(line.lstrip())
        while stack[-1][0] >= depth:
            stack.pop()
        parent = stack[-1][1]
        text = line.strip()
        if text.startswith("- "):
            assert isinstance(parent, list), line
            parent.append(text[2:])
            continue
        key, _, value = text.partition(":")
        value = value.strip()
        assert isinstance(parent, dict), line
        if value:
            parent[key] = {"true": True, "false": False}.get(value, value)
            continue
        following = body[i + 1] if i + 1 < len(body) else ""
        child: dict | list = [] if following.strip().startswith("- ") else {}
        parent[key] = child
        stack.append((depth, child))
    return root


def test_the_workflow_steps_are_declared_as_the_code_runs_them():
    """Each step bound in handlers/__init__.py is a function of the manifest with the inputs and
    outputs the listener reads and writes, typed as Slack types them; the settings Slack needs
    for steps served by the app (https://docs.slack.dev/tools/bolt-python/concepts/custom-steps)."""
    declared = section("functions")
    assert set(declared) == set(handlers.FUNCTIONS) == set(STEPS)
    for callback_id, step in STEPS.items():
        function = declared[callback_id]
        assert (function["title"], function["description"]) == (step.title, step.description)
        for kind, params in (
            ("input_parameters", step.inputs),
            ("output_parameters", step.outputs),
        ):
            properties = function[kind]["properties"]
            assert list(properties) == [p.name for p in params], (callback_id, kind)
            for p in params:
                written = properties[p.name]
                assert written["type"] == p.type and written["title"] == p.title, p.name
                assert written["is_required"] is p.required, p.name
                assert written.get("enum", []) == list(p.enum), p.name
            assert function[kind]["required"] == [p.name for p in params if p.required]
        # Who runs it comes from Slack, never from the builder: one user_context input.
        types = [
            properties["type"] for properties in function["input_parameters"]["properties"].values()
        ]
        assert types.count("slack#/types/user_context") == 1, callback_id
    settings = section("settings")
    assert settings["function_runtime"] == "remote"
    assert settings["org_deploy_enabled"] is True
    assert "function_executed" in settings["event_subscriptions"]["bot_events"]

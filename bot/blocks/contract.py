"""What the contract's dates say: the leads' reminders before the last day to give notice and
on the end date, and the one line the health card and the digest show when a date is near."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.blocks.common import context, escape, message, section
from bot.domain.contract_clocks import Contract
from bot.domain.moments import day
from storage.models import Engagement


def _days(count: int) -> str:
    return "today" if count == 0 else f"in {count} day{'' if count == 1 else 's'}"


def reminder(engagement: Engagement, contract: Contract, stage: str, days_left: int) -> dict:
    """A contract reminder to one lead."""
    name = escape(engagement.name)
    vendor = escape(engagement.vendor)
    assert contract.end is not None
    end = day(contract.end)
    if stage == "end":
        if contract.renews:
            text = (
                f"📄 The contract with *{vendor}* for *{name}* renewed itself today ({end}). "
                "Set its new end date on the engagement form so Cadence keeps watching it."
            )
        else:
            text = (
                f"📄 The contract with *{vendor}* for *{name}* ends today ({end}). If the work "
                "goes on, agree the extension and set the new end date on the engagement form."
            )
    else:
        notice_by = contract.notice_by
        assert notice_by is not None
        then = (
            f"it renews by itself on {end}"
            if contract.renews
            else f"it ends on {end} and any extension must be agreed before then"
        )
        text = (
            f"📄 The last day to give notice on the contract with *{vendor}* for *{name}* is "
            f"*{day(notice_by)}*, {_days(days_left)}: {then}. Decide whether to renew, "
            "renegotiate or end it."
        )
    blocks: list[Any] = [
        section(text),
        context(
            f"Contract dates of {name}: change them with `/cadence engagement edit "
            f"{engagement.handle}`."
        ),
    ]
    return message(text, blocks)


def upcoming_line(what: str, when: date, days_left: int, renews: bool) -> str:
    """`Contract: notice by Mon 01 Mar 2027 (in 30 days)`, for the health card and digest."""
    if what == "notice":
        return f"📄 Contract: give notice by *{day(when)}* ({_days(days_left)})" + (
            ", or it renews" if renews else ""
        )
    return f"📄 Contract: ends *{day(when)}* ({_days(days_left)})"

"""Who is in the demo's workspace: the people and channels the story needs, given to the
stand-in Slack before the app starts (Slack would know them; Cadence learns them from it)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.demo.fake_slack import FakeSlack

TEAM = "T0NORTHWND"
TEAM_NAME = "Northwind Bank"
TEAM_DOMAIN = "northwind"


@dataclass(frozen=True)
class Person:
    user_id: str
    handle: str
    name: str
    tz: str
    role: str  # what the reader of the transcript needs to know about them


@dataclass(frozen=True)
class Channel:
    channel_id: str
    name: str


LENA = Person("U0LENA", "lena.park", "Lena Park", "Europe/Berlin", "project lead, Northwind")
OMAR = Person("U0OMAR", "omar.haddad", "Omar Haddad", "Europe/Berlin", "project lead, Northwind")
DANA = Person("U0DANA", "dana.white", "Dana White", "Europe/London", "CIO, Northwind (admin)")
SAM = Person("U0SAM", "sam.ortiz", "Sam Ortiz", "America/New_York", "stakeholder, Northwind")
PRIYA = Person("U0PRIYA", "priya.nair", "Priya Nair", "Europe/Berlin", "stakeholder, Northwind")
KAI = Person("U0KAI", "kai.berg", "Kai Berg", "Europe/Berlin", "stakeholder, Northwind")
VIC = Person("U0VIC", "vic.mendes", "Vic Mendes", "Europe/Lisbon", "Globex Consulting")
RAJ = Person("U0RAJ", "raj.iyer", "Raj Iyer", "Asia/Kolkata", "Initech")
MIA = Person("U0MIA", "mia.chen", "Mia Chen", "Asia/Singapore", "Umbrella Apps")
PEOPLE = (LENA, OMAR, DANA, SAM, PRIYA, KAI, VIC, RAJ, MIA)
ADMINS = (DANA,)

PAYMENTS = Channel("C0PAYMENTS", "payments-platform")
WAREHOUSE = Channel("C0WAREHOUS", "data-warehouse")
MOBILE = Channel("C0MOBILEAP", "mobile-app")
DIGEST = Channel("C0EXECDIGE", "exec-digest")
GENERAL = Channel("C0GENERAL", "general")
CHANNELS = (PAYMENTS, WAREHOUSE, MOBILE, DIGEST, GENERAL)


def populate(fake: FakeSlack) -> None:
    """Give the stand-in Slack the workspace's people and channels (the bot is in #general
    only; it joins the others itself, as it would in Slack)."""
    for person in PEOPLE:
        fake.add_user(person.user_id, name=person.handle, real_name=person.name, tz=person.tz)
    members = [p.user_id for p in PEOPLE]
    for channel in CHANNELS:
        fake.add_channel(
            channel.channel_id,
            name=channel.name,
            members=members,
            bot_is_member=channel is GENERAL,
        )


def person(user_id: str) -> Person | None:
    return next((p for p in PEOPLE if p.user_id == user_id), None)


def channel(channel_id: str) -> Channel | None:
    return next((c for c in CHANNELS if c.channel_id == channel_id), None)

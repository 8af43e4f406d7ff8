"""Persistence: tables, the engine and sessions, migrations. Imports nothing from bot/."""

"""Cadence: the application core (domain operations, engine, assembly)."""

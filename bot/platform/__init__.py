"""Plumbing every layer may lean on: settings, the clock, the Slack Web API client, and the
services bundle (settings, database, clients) that listeners and the engine share."""

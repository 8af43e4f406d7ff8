"""The domain: engagements, cadences, check-ins and their kinds, updates, feedback, away, audit.
Rules and operations on stored data, independent of Slack payloads and of the engine."""

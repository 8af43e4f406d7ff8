"""Block Kit builders: pure functions, data in, dict out.

Built with slack_sdk's models so Slack's limits (text lengths, element counts, modal title) are
checked before anything is sent; `message()` adds the 50-block limit that slack_sdk leaves out.
"""

"""The Procfile's `web` process (`gunicorn --logger-class bot.entry.gunicorn_logging.Logger`)
logs as every other Cadence process does: gunicorn's own lines (its start, its workers) go
through Cadence's handler, so `LOG_FORMAT=json` covers them too.

gunicorn sets up its logger in the master before the app exists (`create_app()` runs in the
worker), so this logger sets up Cadence's logging itself, from `LOG_LEVEL` and `LOG_FORMAT`;
a configuration it cannot read falls back to the defaults here, and `create_app()` then says
what is wrong, in one line.
"""

from __future__ import annotations

from bot.platform.config import ConfigError, configure_logging, load_settings
from bot.platform.logs import gunicorn_logger_class, setup


class Logger(gunicorn_logger_class()):
    def setup(self, cfg) -> None:
        try:
            configure_logging(load_settings(need_slack=False))
        except ConfigError:
            setup(level="INFO", fmt="text")
        super().setup(cfg)

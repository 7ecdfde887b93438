"""Log configuration from [logging]: plain lines for a terminal, JSON lines for journald/shippers."""

from __future__ import annotations

import json
import logging
import sys

from listener.sanitize import neutralise
from listener.settings import LoggingSettings


class NeutraliseFilter(logging.Filter):
    """One record, one line: newlines, terminal escapes and bidi controls in a message (an external id,
    a post text, a handle) are shown escaped, so untrusted text can neither forge a log line nor drive
    the terminal that reads the journal."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = neutralise(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(settings: LoggingSettings, *, verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.json_format:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(NeutraliseFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else getattr(logging, settings.level.upper(), logging.INFO))
    # Third-party chatter stays at warning level unless debugging.
    for noisy in ("apscheduler", "aiohttp.access", "slack_sdk"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)

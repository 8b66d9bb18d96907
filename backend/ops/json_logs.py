"""One JSON object per log line, for log collectors (``LOGGING`` uses it in production or
with ``LOG_FORMAT=json``; development keeps readable lines)."""

import datetime as dt
import json
import logging

from backend.ops.request_id import NO_ID


class JsonFormatter(logging.Formatter):
    """``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``request_id`` and, when
    the record carries one, ``exception`` (the formatted traceback). Non-ASCII text is kept
    as it is: community names and notices are Chinese."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", NO_ID),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)

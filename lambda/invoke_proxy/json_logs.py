"""JSON log lines shaped like Lambda's own (``LoggingFormat.JSON``), for processes Lambda's runtime does not
format: the HTTP app behind the Lambda Web Adapter, and ``mistral-invoke serve`` on a laptop."""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any


class JsonLogFormatter(logging.Formatter):
    """One JSON object per record: timestamp, level, message, logger, and every ``extra`` field."""

    _reserved = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
        }
        line.update({k: v for k, v in vars(record).items() if k not in self._reserved})
        if record.exc_info:
            line["stackTrace"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)

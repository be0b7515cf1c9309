"""Log lines for machines (`LOG_FORMAT=json`) and the ids they carry.

What a log line is about travels in context variables, set where the work starts (the command
tree for an interaction, a news worker for a delivery), so every line logged on the way carries
it without each call passing it along. Each asyncio task has its own copy of the context.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

interaction_context: ContextVar[int | None] = ContextVar("interaction_id", default=None)
delivery_context: ContextVar[int | None] = ContextVar("delivery_id", default=None)

# Attributes every LogRecord has: anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the interaction
    or delivery id when there is one, `extra=` fields, and the traceback as `exc_info`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        interaction = interaction_context.get()
        if interaction is not None:
            entry["interaction_id"] = interaction
        delivery = delivery_context.get()
        if delivery is not None:
            entry["delivery_id"] = delivery
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry and not key.startswith("_"):
                entry[key] = value if isinstance(value, (int, float, bool, type(None))) \
                    else str(value)
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)

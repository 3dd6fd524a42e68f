"""Logging filters: a refused request is one line in the log, not a traceback."""

from __future__ import annotations

import logging


class NoTracebackForClientErrors(logging.Filter):
    """Drop the traceback Django attaches to a 4xx it logs (a PermissionDenied, say): the
    request was refused as it should be, and a stack trace in the log reads like a crash."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True

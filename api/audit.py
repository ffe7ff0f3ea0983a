"""``@audited``: a successful lookup by a view is recorded in the access log, for regulators."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import request

from api.auth import current_principal
from registry import unit_of_work
from registry.access import access_log


def audited(action: str, object_arg: str | None = None) -> Callable[[Callable[..., Any]], Any]:
    """Record a successful call of the view as ``action`` on its ``object_arg`` argument."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def logged(*args: Any, **kwargs: Any) -> Any:
            answer = view(*args, **kwargs)
            object_id = (
                kwargs.get(object_arg) if object_arg else request.args.get("organization_id")
            )
            query = request.query_string.decode("utf-8", "replace")
            viewer = current_principal()
            # The read is over; the log entry is a write of its own.
            unit_of_work.write_separately(
                lambda: access_log.record_lookup(viewer, action, object_id, query)
            )
            return answer

        return logged

    return decorate

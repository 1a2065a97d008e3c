"""What a log line is about: the Slack request and the case, carried in context variables.

Set once where work enters (a Slack request, an outbox row, a timer) and read by the log filter,
so that no function has to pass ids along just for logging. Work handed to another thread keeps
them only through ``ContextExecutor``: a plain ``ThreadPoolExecutor`` starts every task in an
empty context, and Bolt runs listeners on one.
"""

from __future__ import annotations

import contextvars
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class RequestScope:
    """One incoming Slack request: filled in as it is understood (kind, Slack's ids)."""

    request_id: str = field(default_factory=lambda: "r-" + uuid.uuid4().hex[:12])
    started: float = field(default_factory=time.perf_counter)
    kind: str = "other"
    finished: bool = False

    def elapsed(self) -> float:
        return time.perf_counter() - self.started


_request: contextvars.ContextVar[RequestScope | None] = contextvars.ContextVar(
    "ncbot_request", default=None
)
_case_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("ncbot_case", default=None)


def current_request() -> RequestScope | None:
    return _request.get()


def current_case() -> int | None:
    return _case_id.get()


@contextmanager
def request_scope(scope: RequestScope | None = None) -> Iterator[RequestScope]:
    """The request being handled on this thread (and on the listener threads it starts)."""
    scope = scope or RequestScope()
    token = _request.set(scope)
    try:
        yield scope
    finally:
        _request.reset(token)


@contextmanager
def case_scope(case_id: int | None) -> Iterator[None]:
    """Log lines inside are about this case (``None`` keeps whatever was set outside)."""
    if case_id is None:
        yield
        return
    token = _case_id.set(case_id)
    try:
        yield
    finally:
        _case_id.reset(token)


def bind_case(case_id: int | None) -> None:
    """For the request path, once a listener knows its case: lasts until the request ends
    (each listener task runs in its own copy of the context)."""
    if case_id is not None:
        _case_id.set(case_id)


def log_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    scope = _request.get()
    if scope is not None:
        fields["request_id"] = scope.request_id
    case_id = _case_id.get()
    if case_id is not None:
        fields["case_id"] = case_id
    return fields


class ContextExecutor(Executor):
    """Runs tasks on ``inner`` in a copy of the submitter's context.

    ``on_done`` is called with the request scope (if any) after each task: Bolt runs a listener
    as one task, ack and the work after it, so that is when a request is finished.
    """

    def __init__(
        self, inner: Executor, on_done: Callable[[RequestScope], None] | None = None
    ) -> None:
        self.inner = inner
        self._on_done = on_done

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        context = contextvars.copy_context()
        on_done = self._on_done

        def run() -> T:
            try:
                return fn(*args, **kwargs)
            finally:
                scope = _request.get()
                if on_done is not None and scope is not None and not scope.finished:
                    scope.finished = True
                    on_done(scope)

        return self.inner.submit(context.run, run)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.inner.shutdown(wait=wait, cancel_futures=cancel_futures)

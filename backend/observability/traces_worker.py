"""The worker's jobs in logs and traces: an id per job, a span per batch sent.

``notifications`` knows nothing of logging contexts or tracing (it imports neither
``backend`` nor OpenTelemetry), so the worker's command wraps its dispatcher from outside, as
``backend.observability.worker`` does for metrics:

- ``name_jobs``: each round of the dispatcher (an expansion, a send batch, an SMS batch, a
  look at the operator's reports, upkeep) runs under a fresh id in ``backend.logs.request_id``,
  so every line it writes, its failure included (logged by the dispatcher's loop after the
  round raised, in the same task), carries ``request_id``.  Always on; a few microseconds a
  round.
- ``trace_worker`` (tracing on): a ``notify.send_batch`` span around each batch handed to
  firebase-admin (at most 500 messages), with one HTTP client span per message under it (the
  instrumented httpx), and a ``notify.sms_send`` span around each SMS.  With
  ``worker_sampler`` the polling statements that find nothing make no traces.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import ParamSpec, TypeVar

from firebase_admin import messaging
from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler

from backend.api.request_id import new_request_id
from backend.logs import request_id
from backend.observability.traces import OwnRoots, Tracing
from notifications.gateway import Gateway, Outcome
from notifications.sms import SmsChannel, SmsOutcome
from notifications.worker import Dispatcher

JOBS = ("expand_once", "send_once", "send_sms_once", "check_sms_reports", "upkeep")
"""The dispatcher's rounds (its loops call them by these names)."""
SPAN_PREFIX = "notify."
_P = ParamSpec("_P")
_R = TypeVar("_R")


def worker_sampler() -> Sampler:
    """Traces that start at one of the worker's own spans, and everything under them."""
    return ParentBased(OwnRoots((SPAN_PREFIX,)))


def _as_job(call: Callable[_P, Awaitable[_R]]) -> Callable[_P, Awaitable[_R]]:
    @functools.wraps(call)
    async def job(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        # Not reset afterwards: each loop is a task of its own (its own context), and the
        # loop logs a round's failure after the round has raised.
        request_id.set(new_request_id())
        return await call(*args, **kwargs)

    return job


def name_jobs(dispatcher: Dispatcher) -> None:
    """Give each of ``dispatcher``'s rounds an id of its own in the log lines."""
    for name in JOBS:
        bound = getattr(dispatcher, name)
        if not getattr(bound, "_mhi_job", False):
            wrapped = _as_job(bound)
            wrapped._mhi_job = True  # type: ignore[attr-defined]
            setattr(dispatcher, name, wrapped)


class TracedGateway(Gateway):
    """The FCM gateway, each batch under a ``notify.send_batch`` span."""

    def __init__(self, inner: Gateway, tracer: trace.Tracer) -> None:
        super().__init__(inner.app)
        self.inner = inner
        self.tracer = tracer

    async def send(self, messages: Sequence[messaging.Message]) -> list[Outcome]:
        """``Gateway.send`` inside a span that counts the batch and FCM's verdicts."""
        if not messages:
            return []
        with self.tracer.start_as_current_span(
                "notify.send_batch", kind=trace.SpanKind.INTERNAL,
                attributes={"messaging.system": "fcm",
                            "messaging.batch.message_count": len(messages),
                            "mhi.request_id": request_id.get()}) as span:
            outcomes = await self.inner.send(messages)
            for verdict, count in Counter(o.verdict.value for o in outcomes).items():
                span.set_attribute(f"mhi.notify.{verdict}", count)
        return outcomes


class TracedSmsChannel:
    """An ``SmsChannel`` whose calls are spans (the number and the text are not recorded)."""

    def __init__(self, inner: SmsChannel, tracer: trace.Tracer) -> None:
        self.inner = inner
        self.tracer = tracer

    async def send(self, phone: str, text: str) -> SmsOutcome:
        """The inner channel's ``send`` inside a ``notify.sms_send`` span."""
        with self.tracer.start_as_current_span("notify.sms_send") as span:
            outcome = await self.inner.send(phone, text)
            span.set_attribute("mhi.sms.verdict", outcome.verdict.value)
        return outcome

    async def delivery_states(self, message_ids: Sequence[str]) -> Mapping[str, str]:
        """The inner channel's delivery reports, inside a span."""
        with self.tracer.start_as_current_span("notify.sms_reports"):
            return await self.inner.delivery_states(message_ids)


def trace_worker(dispatcher: Dispatcher, tracing: Tracing) -> None:
    """Spans for ``dispatcher``'s FCM batches and SMS calls (wrap after metrics or before:
    either order works)."""
    tracer = tracing.tracer("mhi.worker")
    sender = dispatcher.sender
    if not isinstance(sender.gateway, TracedGateway):
        sender.gateway = TracedGateway(sender.gateway, tracer)
    if dispatcher.sms is not None and not isinstance(dispatcher.sms.channel, TracedSmsChannel):
        dispatcher.sms.channel = TracedSmsChannel(dispatcher.sms.channel, tracer)

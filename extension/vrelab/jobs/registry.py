"""Job kinds: what the jobs system can run, by name.

A kind runs a function ``function(params, ctx) -> result``. The capabilities' own kinds run in
worker threads and carry a callable bound to their live service (``run``), so a job uses that
service's store, cache and pools. Kinds that run in a worker process name their function by import
path (``target``) so that the process can import it; operators add such kinds with
``c.VRELab.extra_job_kinds``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import BadRequest

Validator = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class JobKind:
    """One kind of job.

    ``run`` is the function itself (a service's bound method: thread kinds only); otherwise
    ``target`` is ``"package.module:function"``. ``process`` runs it in a worker process of its
    own (CPU-heavy work that must not hold the server's interpreter); otherwise a worker thread
    runs it (I/O-bound work, or work that hands its CPU-heavy parts to a pool of its own).
    ``validate`` checks and normalises the parameters when the job is submitted, so bad input is
    refused with HTTP 400 before anything is queued. ``reuse`` marks a kind whose result is fixed
    by its parameters (a fit of a content-addressed workspace): submitting the same parameters
    again while such a job is queued, running or has succeeded answers with that job instead of
    queuing a duplicate (a re-run notebook does not pile up jobs; ``resubmit`` still runs anew).
    """

    name: str
    target: str = ""
    process: bool = False
    description: str = ""
    validate: Validator | None = None
    title: Callable[[dict[str, Any]], str] | None = None
    run: Callable[[dict[str, Any], Any], Any] | None = None
    reuse: bool = False

    def __post_init__(self) -> None:
        if self.run is not None and self.process:
            raise ValueError(f"job kind {self.name!r}: a process kind is named by import path, not a callable")
        if self.run is None and not self.target:
            raise ValueError(f"job kind {self.name!r}: give a callable or a 'module:function' target")

    def load(self) -> Callable[..., Any]:
        if self.run is not None:
            return self.run
        module_name, _, attr = self.target.partition(":")
        if not module_name or not attr:
            raise ValueError(f"job kind {self.name!r}: target {self.target!r} is not 'module:function'")
        return getattr(importlib.import_module(module_name), attr)


def parse_kind_spec(name: str, spec: str) -> JobKind:
    """Turn ``'module:function'`` or ``'module:function@process'`` into a JobKind."""
    target, _, where = spec.partition("@")
    if where not in ("", "process", "thread"):
        raise ValueError(f"job kind {name!r}: unknown placement {where!r} (use @process or @thread)")
    if ":" not in target:
        raise ValueError(f"job kind {name!r}: {spec!r} is not 'module:function'")
    return JobKind(name=name, target=target, process=where == "process")


class JobRegistry:
    def __init__(self) -> None:
        self._kinds: dict[str, JobKind] = {}

    def register(self, kind: JobKind) -> None:
        self._kinds[kind.name] = kind

    def get(self, name: str) -> JobKind:
        try:
            return self._kinds[name]
        except KeyError:
            known = ", ".join(sorted(self._kinds)) or "none"
            raise BadRequest(f"Unknown job kind {name!r}. Known kinds: {known}.", details={"kind": name}) from None

    def names(self) -> list[str]:
        return sorted(self._kinds)

    def describe(self) -> list[dict[str, Any]]:
        return [
            {"kind": k.name, "description": k.description, "process": k.process}
            for k in sorted(self._kinds.values(), key=lambda k: k.name)
        ]

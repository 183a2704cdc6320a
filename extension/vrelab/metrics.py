"""vrelab's Prometheus metrics: one registry per server, fed by the services through a few calls.

The services record what happens (a job submitted, started, finished; a request to Rucio; fit
points; a workflow run ending) through the methods of :class:`Metrics`; the gauges (jobs queued
and running) are read at scrape time from a source the server hands over with
:meth:`Metrics.watch_jobs`. Every server has its own ``CollectorRegistry`` (never
``prometheus_client``'s global one), so two servers in one process count apart. ``GET metrics``
(``handlers/metrics.py``) serves :meth:`Metrics.exposition`; ``docs/operations.md`` lists every
metric with its labels.

This module knows nothing of HTTP: services import it, the handler only writes its text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE_LATEST", "JOB_BUCKETS", "LAKE_BUCKETS", "Metrics"]

# Jobs last from milliseconds (a cached fit) to hours (a transfer, a scan, a workflow).
JOB_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600)
# One HTTP request to a Rucio server.
LAKE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

ActiveJobs = Callable[[], Mapping[tuple[str, str], int]]


def _status_class(status: int | None) -> str | None:
    """The error label of one Rucio answer: None when it succeeded."""
    if status is None:
        return "unreachable"
    if status >= 500:
        return "5xx"
    if status >= 400:
        return "4xx"
    return None


class _ActiveJobsCollector(Collector):
    """``vrelab_jobs_queued`` and ``vrelab_jobs_running`` by kind, counted when Prometheus scrapes."""

    def __init__(self, source: ActiveJobs, kinds: Callable[[], Iterable[str]]):
        self.source = source
        self.kinds = kinds

    def collect(self) -> Iterable[Metric]:
        counts = self.source()
        queued = GaugeMetricFamily("vrelab_jobs_queued", "Jobs waiting for a job worker, by kind.", labels=["kind"])
        running = GaugeMetricFamily("vrelab_jobs_running", "Jobs running now, by kind.", labels=["kind"])
        kinds = sorted(set(self.kinds()) | {kind for kind, _ in counts})
        for kind in kinds:  # every known kind has a sample, 0 included, so a query never meets a gap
            queued.add_metric([kind], counts.get((kind, "queued"), 0))
            running.add_metric([kind], counts.get((kind, "running"), 0))
        return [queued, running]

    def describe(self) -> Iterable[Metric]:
        return [
            GaugeMetricFamily("vrelab_jobs_queued", "Jobs waiting for a job worker, by kind.", labels=["kind"]),
            GaugeMetricFamily("vrelab_jobs_running", "Jobs running now, by kind.", labels=["kind"]),
        ]


class Metrics:
    """The metrics of one vrelab server, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._info = Gauge("vrelab_info", "Always 1; the labels say which vrelab serves.", ["version"], registry=r)
        self._workers = Gauge(
            "vrelab_job_workers", "Jobs this server runs at the same time (VRELab.job_workers).", registry=r
        )
        self._submitted = Counter("vrelab_jobs_submitted", "Jobs accepted and queued, by kind.", ["kind"], registry=r)
        self._finished = Counter(
            "vrelab_jobs_finished", "Jobs that ended, by kind and final state.", ["kind", "state"], registry=r
        )
        self._duration = Histogram(
            "vrelab_job_duration_seconds",
            "How long jobs ran (started to finished), by kind and final state.",
            ["kind", "state"],
            buckets=JOB_BUCKETS,
            registry=r,
        )
        self._wait = Histogram(
            "vrelab_job_wait_seconds",
            "How long jobs waited in the queue before a worker started them, by kind.",
            ["kind"],
            buckets=JOB_BUCKETS,
            registry=r,
        )
        self._lake_latency = Histogram(
            "vrelab_lake_request_duration_seconds",
            "Duration of HTTP requests to a Rucio server (answered or not), by data-lake instance.",
            ["lake_instance"],
            buckets=LAKE_BUCKETS,
            registry=r,
        )
        self._lake_errors = Counter(
            "vrelab_lake_request_errors",
            "Requests to a Rucio server that failed, by data-lake instance and error: 4xx or 5xx (Rucio answered with "
            "that status), unreachable (no answer: refused, timed out, TLS failure).",
            ["lake_instance", "error"],
            registry=r,
        )
        self._fit_points = Counter(
            "vrelab_fit_points",
            "Fit points (one fit or hypothesis test each) answered by fit jobs, by kind and source: computed "
            "(by a worker), cached (from the result cache) or failed.",
            ["kind", "source"],
            registry=r,
        )
        self._fit_seconds = Counter(
            "vrelab_fit_point_seconds",
            "Worker seconds spent computing fit points, by kind.",
            ["kind"],
            registry=r,
        )
        self._workflow_runs = Counter(
            "vrelab_workflow_runs",
            "Workflow runs that ended, by backend and final status (finished, failed, stopped).",
            ["backend", "status"],
            registry=r,
        )

    # ------------------------------------------------------------------ set-up (the server)
    def describe_server(self, version: str, job_workers: int) -> None:
        self._info.labels(version=version).set(1)
        self._workers.set(job_workers)

    def watch_jobs(self, source: ActiveJobs, kinds: Callable[[], Iterable[str]]) -> None:
        """Count queued and running jobs with ``source()`` -> {(kind, state): n} at every scrape;
        ``kinds()`` lists the kinds that get a sample even when none is active."""
        self.registry.register(_ActiveJobsCollector(source, kinds))

    # ------------------------------------------------------------------ jobs (JobManager)
    def job_submitted(self, kind: str) -> None:
        self._submitted.labels(kind=kind).inc()

    def job_started(self, kind: str, waited_seconds: float) -> None:
        self._wait.labels(kind=kind).observe(max(0.0, waited_seconds))

    def job_finished(self, kind: str, state: str, ran_seconds: float | None) -> None:
        """``ran_seconds`` None: the job never started (cancelled while queued)."""
        self._finished.labels(kind=kind, state=state).inc()
        if ran_seconds is not None:
            self._duration.labels(kind=kind, state=state).observe(max(0.0, ran_seconds))

    # ------------------------------------------------------------------ data lake (Rucio sessions)
    def lake_request(self, instance: str, seconds: float, status: int | None) -> None:
        """One HTTP request to Rucio: ``status`` is the answer's status, None when none came."""
        self._lake_latency.labels(lake_instance=instance).observe(max(0.0, seconds))
        error = _status_class(status)
        if error is not None:
            self._lake_errors.labels(lake_instance=instance, error=error).inc()

    def lake_observer(self, instance: str) -> Callable[[float, int | None], None]:
        """:meth:`lake_request` bound to one instance, for a Rucio session of that instance."""

        def observe(seconds: float, status: int | None) -> None:
            self.lake_request(instance, seconds, status)

        return observe

    # ------------------------------------------------------------------ fits (fit jobs)
    def fit_points(self, kind: str, source: str, count: int = 1, seconds: float = 0.0) -> None:
        if count > 0:
            self._fit_points.labels(kind=kind, source=source).inc(count)
        if seconds > 0:
            self._fit_seconds.labels(kind=kind).inc(seconds)

    # ------------------------------------------------------------------ workflows (WorkflowService)
    def workflow_run(self, backend: str, status: str) -> None:
        self._workflow_runs.labels(backend=backend, status=status).inc()

    # ------------------------------------------------------------------ output
    def exposition(self) -> bytes:
        """Every metric in Prometheus' text exposition format (``CONTENT_TYPE_LATEST``)."""
        return generate_latest(self.registry)

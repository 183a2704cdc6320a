"""vrelab.metrics without a server: a registry per Metrics, the error labels of Rucio answers, the
gauges read at scrape time, and the option that opens the endpoint."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from vrelab.config import VRELab
from vrelab.jobs import Job, JobState, JobStore
from vrelab.metrics import Metrics


def samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = metrics.exposition().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_two_servers_in_one_process_count_apart_and_never_in_the_global_registry():
    one, two = Metrics(), Metrics()  # a second Metrics would raise "Duplicated timeseries" in a shared registry
    one.job_submitted("fit.mle")
    one.job_submitted("fit.mle")
    two.job_submitted("fit.mle")
    assert samples(one)[("vrelab_jobs_submitted_total", frozenset({("kind", "fit.mle")}))] == 2
    assert samples(two)[("vrelab_jobs_submitted_total", frozenset({("kind", "fit.mle")}))] == 1
    assert REGISTRY.get_sample_value("vrelab_jobs_submitted_total", {"kind": "fit.mle"}) is None


@pytest.mark.parametrize(
    ("status", "error"),
    [(200, None), (201, None), (404, "4xx"), (401, "4xx"), (500, "5xx"), (503, "5xx"), (None, "unreachable")],
)
def test_every_rucio_request_is_timed_and_failures_are_counted_by_kind(status, error):
    m = Metrics()
    m.lake_observer("cern")(0.25, status)
    got = samples(m)
    assert got[("vrelab_lake_request_duration_seconds_count", frozenset({("lake_instance", "cern")}))] == 1
    assert got[("vrelab_lake_request_duration_seconds_sum", frozenset({("lake_instance", "cern")}))] == 0.25
    errors = {
        dict(labels)["error"]: v for (name, labels), v in got.items() if name == "vrelab_lake_request_errors_total"
    }
    assert errors == ({} if error is None else {error: 1})


def test_a_job_that_never_ran_is_counted_without_a_duration():
    m = Metrics()
    m.job_finished("fit.scan", "cancelled", None)
    m.job_finished("fit.scan", "succeeded", 3.5)
    got = samples(m)
    assert got[("vrelab_jobs_finished_total", frozenset({("kind", "fit.scan"), ("state", "cancelled")}))] == 1
    assert ("vrelab_job_duration_seconds_count", frozenset({("kind", "fit.scan"), ("state", "cancelled")})) not in got
    assert got[("vrelab_job_duration_seconds_sum", frozenset({("kind", "fit.scan"), ("state", "succeeded")}))] == 3.5


def test_the_queue_gauges_are_read_from_the_jobs_database_at_each_scrape(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    m = Metrics()
    m.watch_jobs(store.count_active_by_kind, lambda: ["fit.mle", "lake.download"])
    assert samples(m)[("vrelab_jobs_queued", frozenset({("kind", "fit.mle")}))] == 0
    for i, state in enumerate([JobState.QUEUED, JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED]):
        store.save(Job(id=f"j{i}", kind="fit.mle", owner="someone", params={}, state=state))
    store.save(Job(id="x", kind="test.steps", owner="other", params={}, state=JobState.RUNNING))
    got = samples(m)
    assert got[("vrelab_jobs_queued", frozenset({("kind", "fit.mle")}))] == 2
    assert got[("vrelab_jobs_running", frozenset({("kind", "fit.mle")}))] == 1
    assert got[("vrelab_jobs_running", frozenset({("kind", "test.steps")}))] == 1  # a kind not listed still shows
    assert got[("vrelab_jobs_queued", frozenset({("kind", "lake.download")}))] == 0
    store.close()


def test_unauthenticated_scrapes_are_off_unless_configured(monkeypatch):
    monkeypatch.delenv("VRELAB_METRICS_ALLOW_UNAUTHENTICATED", raising=False)
    assert VRELab().metrics_allow_unauthenticated is False
    monkeypatch.setenv("VRELAB_METRICS_ALLOW_UNAUTHENTICATED", "true")
    assert VRELab().metrics_allow_unauthenticated is True
    monkeypatch.setenv("VRELAB_METRICS_ALLOW_UNAUTHENTICATED", "perhaps")
    with pytest.raises(ValueError, match="VRELAB_METRICS_ALLOW_UNAUTHENTICATED must be true or false"):
        VRELab().metrics_allow_unauthenticated  # noqa: B018
    assert "Environment: VRELAB_METRICS_ALLOW_UNAUTHENTICATED" in VRELab.metrics_allow_unauthenticated.help

"""The jobs system on its own: store, manager, thread and process executors."""

from __future__ import annotations

import threading
import time

import pytest

from vrelab.errors import BadRequest, Conflict, NotFound, TooManyRequests
from vrelab.jobs import JobKind, JobManager, JobRegistry, JobState, JobStore


def wait_for(manager: JobManager, job_id: str, owner: str = "alice", timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = manager.get(job_id, owner)
        if job.state.finished:
            return job
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} did not finish: {manager.get(job_id, owner)}")


@pytest.fixture
def registry() -> JobRegistry:
    reg = JobRegistry()
    for name in ("steps", "fail", "crash", "burn"):
        reg.register(JobKind(name, f"jobkinds:{name}"))
    for name in ("steps", "fail", "crash", "die"):
        reg.register(JobKind(f"p.{name}", f"jobkinds:{name}", process=True))
    return reg


@pytest.fixture
def manager(tmp_path, registry):
    m = JobManager(JobStore(tmp_path / "jobs.sqlite"), registry, workers=2, log_dir=tmp_path / "logs")
    yield m
    m.shutdown()


def test_thread_job_runs_with_progress_and_result(manager):
    job = manager.submit("steps", {"steps": 3, "delay": 0.01}, "alice")
    assert job.state is JobState.QUEUED
    done = wait_for(manager, job.id)
    assert done.state is JobState.SUCCEEDED
    assert done.result["steps"] == 3
    assert (done.progress.done, done.progress.total) == (3, 3)
    assert done.started and done.finished and done.finished >= done.started
    assert "done 3 steps" in manager.read_log(job.id, "alice")


def test_process_job_runs_in_another_process(manager):
    import os

    done = wait_for(manager, manager.submit("p.steps", {"steps": 2, "delay": 0.01}, "alice").id)
    assert done.state is JobState.SUCCEEDED
    assert done.result["pid"] != os.getpid()
    assert done.progress.done == 2


@pytest.mark.parametrize("kind", ["fail", "p.fail"])
def test_user_error_fails_job_with_its_message(manager, kind):
    done = wait_for(manager, manager.submit(kind, {"message": "bad DID"}, "alice").id)
    assert done.state is JobState.FAILED
    assert done.error["message"] == "bad DID"
    assert done.error["code"] == "bad_request"


@pytest.mark.parametrize("kind", ["crash", "p.crash"])
def test_unexpected_exception_fails_job_plainly(manager, kind):
    done = wait_for(manager, manager.submit(kind, {}, "alice").id)
    assert done.state is JobState.FAILED
    assert done.error["message"] == "ZeroDivisionError: division by zero"
    assert "Traceback" not in done.error["message"]


def test_killed_worker_fails_job_and_says_so(manager):
    done = wait_for(manager, manager.submit("p.die", {}, "alice").id)
    assert done.state is JobState.FAILED
    assert done.error["code"] == "worker_died"
    assert "SIGKILL" in done.error["message"]


@pytest.mark.parametrize("kind", ["steps", "p.steps"])
def test_cancel_running_job(manager, kind):
    job = manager.submit(kind, {"steps": 200, "delay": 0.05}, "alice")
    deadline = time.monotonic() + 20
    while manager.get(job.id, "alice").progress.done < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    manager.cancel(job.id, "alice")
    done = wait_for(manager, job.id)
    assert done.state is JobState.CANCELLED
    assert done.progress.done < 200


def test_cancel_queued_job_never_runs(tmp_path, registry):
    m = JobManager(JobStore(tmp_path / "j.sqlite"), registry, workers=1)
    try:
        first = m.submit("steps", {"steps": 20, "delay": 0.05}, "alice")
        second = m.submit("steps", {"steps": 1}, "alice")
        m.cancel(second.id, "alice")
        assert m.get(second.id, "alice").state is JobState.CANCELLED
        assert wait_for(m, first.id).state is JobState.SUCCEEDED
        time.sleep(0.1)
        again = m.get(second.id, "alice")
        assert again.state is JobState.CANCELLED and again.started is None
    finally:
        m.shutdown()


def test_errors_on_bad_commands(manager):
    with pytest.raises(BadRequest, match="Unknown job kind 'nope'"):
        manager.submit("nope", {}, "alice")
    with pytest.raises(BadRequest):
        manager.submit("steps", ["not", "a", "dict"], "alice")  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        manager.get("0123", "alice")
    done = wait_for(manager, manager.submit("steps", {"steps": 1}, "alice").id)
    with pytest.raises(NotFound):  # another user's job does not exist for you
        manager.get(done.id, "mallory")
    with pytest.raises(Conflict):
        manager.cancel(done.id, "alice")
    running = manager.submit("steps", {"steps": 100, "delay": 0.05}, "alice")
    with pytest.raises(Conflict):
        manager.delete(running.id, "alice")
    manager.cancel(running.id, "alice")


def test_per_user_limit(tmp_path, registry):
    m = JobManager(JobStore(tmp_path / "j.sqlite"), registry, workers=1, max_active_per_user=2)
    try:
        a = m.submit("steps", {"steps": 50, "delay": 0.05}, "alice")
        b = m.submit("steps", {"steps": 50, "delay": 0.05}, "alice")
        with pytest.raises(TooManyRequests):
            m.submit("steps", {}, "alice")
        m.submit("steps", {"steps": 1}, "bob")  # others are not affected
        for j in (a, b):
            m.cancel(j.id, "alice")
    finally:
        m.shutdown()


class _SlowDiskStore(JobStore):
    """A store on a slow disk: each save takes a while, which widens any count-then-save window."""

    def save(self, job):  # type: ignore[no-untyped-def]
        time.sleep(0.02)
        return super().save(job)


def test_per_user_limit_holds_under_concurrent_submits(tmp_path, registry):
    limit, callers = 3, 12
    m = JobManager(_SlowDiskStore(tmp_path / "j.sqlite"), registry, workers=1, max_active_per_user=limit)
    barrier = threading.Barrier(callers)
    accepted: list[str] = []
    refused: list[Exception] = []

    def submit() -> None:
        barrier.wait()
        try:
            accepted.append(m.submit("steps", {"steps": 200, "delay": 0.05}, "alice").id)
        except TooManyRequests as exc:
            refused.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(callers)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(accepted) == limit, f"{len(accepted)} jobs accepted with a limit of {limit}"
        assert len(refused) == callers - limit
        assert m.list("alice")[1] == limit  # nothing half-created by the refused ones
    finally:
        for job_id in accepted:
            try:
                m.cancel(job_id, "alice")
            except Conflict:
                pass
        m.shutdown()


def test_interrupted_at_restart_and_resubmit(tmp_path, registry):
    path = tmp_path / "jobs.sqlite"
    m1 = JobManager(JobStore(path), registry, workers=1)
    running = m1.submit("steps", {"steps": 100, "delay": 0.05}, "alice")
    queued = m1.submit("steps", {"steps": 1}, "alice")
    time.sleep(0.2)
    # simulate a crash: the old manager is simply abandoned (no shutdown), a new one opens the DB
    m2 = JobManager(JobStore(path), registry, workers=1)
    try:
        ids = m2.recover()
        assert set(ids) == {running.id, queued.id}
        for j in (running, queued):
            rec = m2.get(j.id, "alice")
            assert rec.state is JobState.INTERRUPTED
            assert "Resubmit" in rec.error["message"]
        again = m2.resubmit(queued.id, "alice")
        assert again.resubmitted_from == queued.id and again.params == {"steps": 1}
        assert wait_for(m2, again.id).state is JobState.SUCCEEDED
    finally:
        m1._active.clear()
        m1.shutdown()
        m2.shutdown()


def test_list_filters_and_pages(manager):
    ids = [manager.submit("steps", {"steps": 1, "delay": 0}, "alice").id for _ in range(5)]
    for i in ids:
        wait_for(manager, i)
    failed = wait_for(manager, manager.submit("fail", {}, "alice").id)
    jobs, total = manager.list("alice", limit=2, offset=0)
    assert total == 6 and len(jobs) == 2
    assert jobs[0].id == failed.id  # newest first
    jobs, total = manager.list("alice", states=["failed"])
    assert [j.id for j in jobs] == [failed.id]
    jobs, total = manager.list("alice", kinds=["steps"], limit=10)
    assert total == 5
    with pytest.raises(BadRequest, match="Unknown job state"):
        manager.list("alice", states=["bogus"])
    assert manager.list("bob")[1] == 0


def test_delete_removes_record_and_log(manager):
    done = wait_for(manager, manager.submit("steps", {"steps": 1}, "alice").id)
    assert manager.log_path(done.id).exists()
    manager.delete(done.id, "alice")
    with pytest.raises(NotFound):
        manager.get(done.id, "alice")
    assert not manager.log_path(done.id).exists()


def test_store_is_private_and_wal(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    assert (tmp_path / "jobs.sqlite").stat().st_mode & 0o777 == 0o600
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_reusable_kind_answers_the_same_submit_with_the_same_job(tmp_path):
    reg = JobRegistry()
    reg.register(JobKind("steps", "jobkinds:steps", reuse=True))
    reg.register(JobKind("plain", "jobkinds:steps"))
    m = JobManager(JobStore(tmp_path / "jobs.sqlite"), reg, workers=2, log_dir=tmp_path / "logs")
    try:
        first = m.submit("steps", {"steps": 2, "delay": 0.2}, "alice")
        assert m.submit("steps", {"delay": 0.2, "steps": 2}, "alice").id == first.id  # while it runs
        wait_for(m, first.id)
        again = m.submit("steps", {"steps": 2, "delay": 0.2}, "alice")
        assert again.id == first.id and again.state is JobState.SUCCEEDED  # once it succeeded
        assert m.submit("steps", {"steps": 3, "delay": 0.01}, "alice").id != first.id  # other parameters
        assert m.submit("steps", {"steps": 2, "delay": 0.2}, "bob").id != first.id  # another user
        fresh = m.resubmit(first.id, "alice")
        assert fresh.id != first.id and fresh.resubmitted_from == first.id  # an explicit rerun runs anew
        plain = m.submit("plain", {"steps": 1, "delay": 0.01}, "alice")
        wait_for(m, plain.id)
        assert m.submit("plain", {"steps": 1, "delay": 0.01}, "alice").id != plain.id  # kinds without reuse
        m.delete(wait_for(m, fresh.id).id, "alice")
        m.delete(first.id, "alice")
        assert m.submit("steps", {"steps": 2, "delay": 0.2}, "alice").id not in (first.id, fresh.id)
        _, total = m.list("alice", kinds=["steps"])
        assert total == 2  # the {steps: 3} job and the last one: no duplicates were recorded
    finally:
        m.shutdown()

"""Errors keep their class from service to client: a job's error body becomes the class raised."""

from __future__ import annotations

import pytest

from vrelab import errors
from vrelab.client.api import job_error
from vrelab.client.lake import raise_for_job


def _every_error_class() -> list[type[errors.VRELabError]]:
    seen: list[type[errors.VRELabError]] = []
    todo = [errors.VRELabError]
    while todo:
        for sub in todo.pop().__subclasses__():
            seen.append(sub)
            todo.append(sub)
    return seen


def test_every_error_code_is_unique_and_registered():
    classes = [c for c in _every_error_class() if c.__module__ == "vrelab.errors"]
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes)), codes
    for cls in classes:
        assert errors.BY_CODE[cls.code] is cls


@pytest.mark.parametrize(
    "cls",
    [
        errors.FitFailed,
        errors.PatchDoesNotApply,
        errors.InvalidWorkspace,
        errors.Unavailable,
        errors.UpstreamError,
        errors.WorkerDied,
        errors.DownloadFailed,
        errors.WorkflowFailed,
        errors.SpecError,
        errors.RecastError,
        errors.NotFound,
    ],
)
def test_a_failed_job_raises_the_class_its_service_raised(cls):
    body = cls("it went wrong", details={"field": "x"}).to_dict()["error"]
    job = {"id": "j1", "state": "failed", "error": body}
    exc = job_error(job)
    assert type(exc) is cls
    assert exc.message == "it went wrong" and exc.details["field"] == "x" and exc.details["job_id"] == "j1"
    with pytest.raises(cls):
        raise_for_job(job)


def test_service_modules_use_the_shared_classes():
    from vrelab.fit import errors as fit_errors
    from vrelab.jobs import WorkerDied
    from vrelab.lake.download import DownloadFailed
    from vrelab.workflows.spec import SpecError

    assert fit_errors.FitFailed is errors.FitFailed
    assert WorkerDied is errors.WorkerDied and DownloadFailed is errors.DownloadFailed
    assert SpecError is errors.SpecError


def test_a_cancelled_job_without_error_body_names_its_state():
    exc = job_error({"id": "j2", "state": "cancelled"})
    assert type(exc) is errors.VRELabError and "cancelled" in exc.message

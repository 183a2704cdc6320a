"""Shared fixtures. Fixtures that start real servers live in their own plugin modules."""

from __future__ import annotations

import json

import pytest

pytest_plugins = [
    "pytest_jupyter.jupyter_server",
    "lake_fixtures",
    "browser_fixtures",
    "container_fixtures",
    "reana_double",
]

TEST_JOB_KINDS = {
    "test.steps": "jobkinds:steps",
    "test.fail": "jobkinds:fail",
    "test.burn": "jobkinds:burn@process",
    "test.die": "jobkinds:die@process",
}


@pytest.fixture
def jp_server_config(tmp_path):
    """A Jupyter server with vrelab enabled, its state in a fresh folder per test."""
    return {
        "ServerApp": {"jpserver_extensions": {"vrelab": True}},
        "VRELab": {
            "data_dir": str(tmp_path / "vrelab-data"),
            "extra_job_kinds": TEST_JOB_KINDS,
            "max_active_jobs_per_user": 20,
        },
    }


@pytest.fixture
def api(jp_fetch):
    """Call vrelab's API: ``await api("GET", "status")`` -> (status, parsed body)."""

    async def call(
        method: str, path: str, body=None, *, raw_body: bytes | None = None, headers=None, **params
    ):
        kwargs = {"method": method, "raise_error": False, "headers": headers or {}}
        if params:
            kwargs["params"] = params
        if raw_body is not None:
            kwargs["body"] = raw_body
        elif body is not None or method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = json.dumps(body or {})
        r = await jp_fetch("vrelab", "api", "v1", *path.split("/"), **kwargs)
        text = r.body.decode() if r.body else ""
        data = (
            json.loads(text)
            if text and r.headers.get("Content-Type", "").startswith("application/json")
            else text
        )
        return r.code, data

    return call


def pytest_collection_modifyitems(config, items):
    """Browser tests run last: Playwright's sync API keeps an event loop of its own in the main
    thread for the rest of the session, which in-process Jupyter servers must not meet."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture
def shared_likelihoods():
    """The shared ATLAS likelihoods folder; the test fails (never skips) when it is missing."""
    from likelihoods import require_likelihoods

    return require_likelihoods()

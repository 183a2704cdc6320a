"""The Python client and the `vrelab` command against a real Jupyter server process."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from servers import JupyterServerProcess
from vrelab import errors
from vrelab.cli import main
from vrelab.client import Client, candidates


@pytest.fixture(scope="module")
def a_running_vrelab_server(tmp_path_factory):
    server = JupyterServerProcess(
        tmp_path_factory.mktemp("server"),
        vrelab_config={"extra_job_kinds": {"test.steps": "jobkinds:steps", "test.fail": "jobkinds:fail"}},
    )
    yield server.start()
    server.stop()


@pytest.fixture
def client(a_running_vrelab_server):
    with Client(a_running_vrelab_server.url, a_running_vrelab_server.token) as c:
        yield c


def test_client_submits_and_waits_with_progress(client):
    job = client.submit("test.steps", {"steps": 4, "delay": 0.05})
    seen = []
    final = client.wait(job["id"], on_progress=lambda j: seen.append(j["progress"]["done"]))
    assert final["state"] == "succeeded" and final["result"]["steps"] == 4
    assert seen[-1] == 4 and seen == sorted(seen)


def test_client_raises_the_servers_errors(client):
    with pytest.raises(errors.NotFound, match="No job with id"):
        client.job("nope")
    with pytest.raises(errors.BadRequest, match="Unknown job kind"):
        client.submit("no.such.kind")
    failed = client.wait(client.submit("test.fail", {"message": "bad input"})["id"])
    with pytest.raises(errors.VRELabError, match="bad input"):
        client.wait(failed["id"], raise_on_failure=True)


def test_client_finds_the_server_from_the_kernel_environment(a_running_vrelab_server, monkeypatch):
    for var in ("VRELAB_URL", "VRELAB_TOKEN", "JUPYTERHUB_API_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("VRELAB_SERVER_URL", a_running_vrelab_server.url)
    monkeypatch.setenv("VRELAB_SERVER_TOKEN", a_running_vrelab_server.token)
    with Client() as c:
        assert c.server.found_by == "kernel env"
        assert c.status()["api_version"] == "v1"
        assert a_running_vrelab_server.token not in repr(c)


def test_client_finds_the_server_under_jupyterhub(a_running_vrelab_server, monkeypatch):
    for var in ("VRELAB_URL", "VRELAB_SERVER_URL", "JUPYTERHUB_SERVICE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", a_running_vrelab_server.token)
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/")
    monkeypatch.setenv("JUPYTER_PORT", str(a_running_vrelab_server.port))
    found = candidates()
    assert found[0].found_by == "JupyterHub"
    assert found[0].url == a_running_vrelab_server.url
    with Client() as c:
        assert c.status()["version"]


def test_client_says_clearly_when_no_server_is_there(monkeypatch):
    with pytest.raises(errors.Unavailable, match="Cannot reach the vrelab server"):
        Client("http://127.0.0.1:9", "t").status()


def _cli(server, *args):
    result = CliRunner().invoke(main, ["--url", server.url, "--token", server.token, *args])
    return result


def test_cli_status_and_jobs(a_running_vrelab_server):
    server = a_running_vrelab_server
    r = _cli(server, "status")
    assert r.exit_code == 0, r.output
    assert "jobs" in r.output and "enabled" in r.output
    r = _cli(server, "--json", "status")
    assert json.loads(r.output)["api_version"] == "v1"
    with Client(server.url, server.token) as c:
        job = c.submit("test.steps", {"steps": 3, "delay": 0.05})
    r = _cli(server, "jobs", "watch", job["id"])
    assert r.exit_code == 0, r.output
    assert "succeeded" in r.output
    r = _cli(server, "jobs", "ls", "--json")
    assert job["id"] in {j["id"] for j in json.loads(r.output)["jobs"]}
    r = _cli(server, "jobs", "show", job["id"])
    assert "state:     succeeded" in r.output
    r = _cli(server, "jobs", "log", job["id"])
    assert "done 3 steps" in r.output
    r = _cli(server, "jobs", "rm", job["id"])
    assert r.exit_code == 0


def test_cli_errors_are_one_line_without_traceback(a_running_vrelab_server):
    r = _cli(a_running_vrelab_server, "jobs", "show", "does-not-exist")
    assert r.exit_code == 1
    assert "Error: No job with id 'does-not-exist'." in r.output
    assert "Traceback" not in r.output
    r = CliRunner().invoke(main, ["--url", "http://127.0.0.1:9", "--token", "x", "status"])
    assert r.exit_code == 1 and "Cannot reach" in r.output and "Traceback" not in r.output


def test_every_cli_command_has_help():
    def walk(cmd, path):
        r = CliRunner().invoke(main, [*path, "--help"])
        assert r.exit_code == 0, (path, r.output)
        assert "Usage:" in r.output
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*path, name])

    walk(main, [])

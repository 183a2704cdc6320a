"""The Python client and the `vrelab` command against a real Jupyter server process."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner, Result

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


# ---------------------------------------------------------------------- every command fails in one line
def _leaf_commands(cmd: click.Command, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    """Every runnable command of the tree: leaves, and groups that run without a subcommand."""
    if not isinstance(cmd, click.Group):
        return [(path, cmd)]
    found = [(path, cmd)] if path and cmd.invoke_without_command else []
    for name, sub in sorted(cmd.commands.items()):
        found += _leaf_commands(sub, (*path, name))
    return found


def _bad_arguments(cmd: click.Command) -> list[str]:
    """A wrong value for each argument and required option: no id, DID, path or name of that spelling exists."""
    args: list[str] = []
    for param in cmd.params:
        if isinstance(param, click.Argument) and param.required:
            args += ["deadbeef"] * max(param.nargs, 1)
        elif isinstance(param, click.Option) and param.required:
            args += [param.opts[-1], "deadbeef"]
    return args


def _needs_input(cmd: click.Command) -> bool:
    return any(isinstance(p, click.Argument) and p.required for p in cmd.params) or any(
        isinstance(p, click.Option) and p.required for p in cmd.params
    )


COMMANDS = _leaf_commands(main)


def _assert_one_line_failure(path: tuple[str, ...], result: Result) -> None:
    shown = " ".join(path)
    assert result.exit_code != 0, (shown, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), (shown, result.exc_info)
    assert "Traceback" not in result.output, (shown, result.output)
    if result.exit_code == 1:  # an error of the command (2: click's usage errors)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), (shown, result.stderr)


def test_the_command_tree_is_walked():
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"status", "fit add", "fit limit", "lake search", "lake download", "lake rules", "lake rules add",
            "lake up", "wf submit", "jobs watch", "demo"} <= names  # fmt: skip
    assert len(names) > 40


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_fails_in_one_line_against_an_unreachable_server(path, cmd, tmp_path):
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("x")  # the embedded lake's commands refuse it as their home
    runner = CliRunner(env={"VRELAB_LAKE_HOME": str(not_a_folder)})
    args = ["--url", "http://127.0.0.1:9", "--token", "x", *path, *_bad_arguments(cmd)]
    _assert_one_line_failure(path, runner.invoke(main, args, input="pw\n"))


@pytest.mark.parametrize(
    ("path", "cmd"),
    [(p, c) for p, c in COMMANDS if _needs_input(c)],
    ids=[" ".join(p) for p, c in COMMANDS if _needs_input(c)],
)
def test_every_command_fails_in_one_line_on_bad_arguments(path, cmd, a_running_vrelab_server, tmp_path):
    server = a_running_vrelab_server
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("x")
    runner = CliRunner(env={"VRELAB_LAKE_HOME": str(not_a_folder)})
    args = ["--url", server.url, "--token", server.token, *path, *_bad_arguments(cmd)]
    _assert_one_line_failure(path, runner.invoke(main, args, input="pw\n"))


def test_any_exception_becomes_one_line_and_ctrl_c_a_short_message(monkeypatch):
    from vrelab.cli import common

    def boom(self):
        raise RuntimeError("the disk caught fire\nsecond line")

    monkeypatch.setattr(common.Ctx, "client", property(boom))
    r = CliRunner().invoke(main, ["status"])
    assert r.exit_code == 1 and r.exception is not None and isinstance(r.exception, SystemExit)
    assert r.stderr.strip() == "Error: RuntimeError: the disk caught fire second line"

    def unreadable(self):
        raise PermissionError(13, "Permission denied", "/etc/shadow")

    monkeypatch.setattr(common.Ctx, "client", property(unreadable))
    r = CliRunner().invoke(main, ["fit", "ls"])
    assert r.exit_code == 1 and r.stderr.strip() == "Error: Permission denied: /etc/shadow"

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(common.Ctx, "client", property(interrupted))
    r = CliRunner().invoke(main, ["jobs", "ls"])
    assert r.exit_code == 130 and r.stderr.strip() == "Interrupted." and "Traceback" not in r.output

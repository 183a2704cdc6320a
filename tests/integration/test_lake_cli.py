"""``Client().lake`` and ``vrelab lake ...`` against a real Jupyter server process and the embedded Rucio."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from servers import JupyterServerProcess
from vrelab import errors
from vrelab.cli import main
from vrelab.client import Client

pytestmark = pytest.mark.lake


@pytest.fixture(scope="module")
def lake_server(tmp_path_factory, embedded_lake):
    """A vrelab server whose default instance is the embedded lake, without any identity configured."""
    lake = json.loads(embedded_lake.jupyter_config.read_text())["VRELab"]
    (instance,) = lake["lake_instances"]
    instance = {k: v for k, v in instance.items() if k != "auth"}
    server = JupyterServerProcess(
        tmp_path_factory.mktemp("lake-cli"),
        vrelab_config={"lake_instances": [instance], "default_lake_instance": "embedded"},
        extra_args=["--ServerApp.log_level=DEBUG"],
    )
    yield server.start()
    server.stop()


@pytest.fixture
def run(lake_server):
    runner = CliRunner()

    def call(*args: str, input: str | None = None, code: int = 0):
        result = runner.invoke(main, ["--url", lake_server.url, "--token", lake_server.token, *args], input=input)
        assert result.exit_code == code, result.output
        return result.output

    return call


def test_cli_login_browse_and_make_available(run, lake_server, embedded_lake, lake_sandbox):
    password = embedded_lake.password(embedded_lake.user)
    user = embedded_lake.user
    out = run("lake", "instances")
    assert "* embedded" in out and "not logged in" in out
    out = run("lake", "search", "ATLAS_OD_EDU:*", code=1)
    assert "vrelab lake login embedded" in out
    out = run("lake", "login", "embedded", "--account", user, input="wrong-pw-7Qx\n", code=1)
    assert "did not accept your credentials" in out
    out = run("lake", "login", "embedded", "--account", user, "--password-stdin", input=password + "\n")
    assert f"Logged in to embedded as {user} (userpass)" in out and password not in out
    assert user in run("lake", "whoami")
    out = run("lake", "search", "ATLAS_OD_EDU:*", "--type", "dataset")
    assert "ATLAS_OD_EDU:GamGam.mc" in out and "4 DID(s)" in out
    # datasets: their size and file count, summed by Rucio (not '-' and an empty column)
    header, _, *rows = out.splitlines()[:-1]
    assert header.split() == ["DID", "TYPE", "SIZE", "FILES"]
    for row in rows:
        did, kind, size, unit, files = row.split()
        assert kind == "DATASET" and unit in ("kB", "MB", "GB") and float(size) > 0 and int(files) > 0, row
    containers = run("lake", "search", "ATLAS_OD_EDU:*", "--type", "container")
    assert all(line.split()[2] != "-" for line in containers.splitlines()[2:-1]), containers
    # files: their size, and no FILES column (a file has no count)
    out = run("lake", "search", "ATLAS_OD_EDU:*", "--type", "file", "--limit", "3")
    assert out.splitlines()[0].split() == ["DID", "TYPE", "SIZE"]
    assert all(line.split()[2] != "-" for line in out.splitlines()[2:-1]), out
    # an unknown scope is named, not "0 DID(s)"
    out = run("lake", "search", "NOSCOPE:*", code=1)
    assert "has no scope 'NOSCOPE'" in out and "ATLAS_OD_EDU" in out and "Traceback" not in out
    out = run("lake", "search", "ATLAS_OD_EDU:*", "-t", "file", "--sort", "-bytes", "--limit", "2")
    assert "2 DID(s); more with --offset 2" in out
    out = run("lake", "search", "ATLAS_OD_EDU:*", "-t", "file", "-f", "dsid=343981")
    assert "mc_343981.ggH125_gamgam.GamGam.root" in out
    out = run("lake", "show", "ATLAS_OD_EDU:GamGam.mc")
    assert "DATASET" in out and "LAPP-DISK" in out and "Contents:" in out and "Rules:" in out
    out = run("lake", "show", "ATLAS_OD_EDU:mc_343981.ggH125_gamgam.GamGam.root")
    assert "adler32" in out and "dsid = 343981" in out
    assert "not found" in run("lake", "show", "ATLAS_OD_EDU:nope", code=1)
    # a download of an unknown DID: a 404 naming it, before any job is recorded
    with Client(lake_server.url, lake_server.token) as c:
        jobs_before = c.jobs(limit=1000)["total"]
        out = run("lake", "download", "ATLAS_OD_EDU:nope", code=1)
        assert "no DID 'nope' in scope 'ATLAS_OD_EDU'" in out and out.count("\n") == 1
        assert c.jobs(limit=1000)["total"] == jobs_before
    assert "not a valid" in run("lake", "show", "ATLAS_OD_EDU:bad name", code=1)
    out = run("lake", "rses")
    assert "NAPOLI-DISK" in out and "5.4 GB" in out
    assert "site = NAPOLI" in run("lake", "rses", "NAPOLI-DISK")
    assert "LAPP-SCRATCHDISK" not in run("lake", "rses", "-e", "type=DATADISK")
    # make available, wait for OK, the duplicate, list, remove
    path = lake_sandbox.make_file(size=1500)
    lake_sandbox.upload(path)
    did = f"{lake_sandbox.scope}:{path.name}"
    rule = json.loads(run("lake", "rules", "add", did, "NAPOLI-DISK", "--lifetime-days", "1", "--json"))
    assert rule["state"] in ("REPLICATING", "OK")
    out = run("lake", "rules", "watch", rule["id"], "--timeout", "120")
    assert f"Rule {rule['id']} is OK." in out
    assert "You already have this rule" in run("lake", "rules", "add", did, "NAPOLI-DISK", code=1)
    out = run("lake", "rules", "--state", "OK")
    assert rule["id"] in out
    assert rule["id"] in run("lake", "rules", "show", rule["id"])
    assert "deleted" in run("lake", "rules", "rm", rule["id"])
    run("lake", "logout")
    assert "not logged in" in run("lake", "instances")
    log = lake_server.log_path.read_text()  # the server ran at DEBUG level
    assert "lake/instances/embedded/credentials" in log
    assert password not in log and "wrong-pw-7Qx" not in log


def test_client_lake_api(lake_server, embedded_lake):
    with Client(lake_server.url, lake_server.token) as c:
        lake = c.lake
        assert lake.default_instance() == "embedded"
        saved = lake.login(account=embedded_lake.user, password=embedded_lake.password(embedded_lake.user))
        assert saved["source"] == "stored" and "password" not in saved
        names = [d["did"] for d in lake.search_all("ATLAS_OD_EDU:*", type="file", page_size=4)]
        assert len(names) == len(set(names)) > 10
        # DIDs go percent-encoded in the path (':' and '/')
        assert lake.did("ATLAS_OD_EDU:GamGam")["type"] == "CONTAINER"
        assert {c["did"] for c in lake.children("ATLAS_OD_EDU:GamGam")["items"]} >= {"ATLAS_OD_EDU:GamGam.mc"}
        with pytest.raises(errors.NotFound):
            lake.did("ATLAS_OD_EDU:no.such")
        with pytest.raises(errors.NotFound, match="has no scope 'NOSCOPE'") as info:  # the sidebar's call too
            lake.search("NOSCOPE:*")
        assert info.value.status == 404
        assert lake.search("ATLAS_OD_EDU:no-such-*")["items"] == []  # a known scope: just no match
        with pytest.raises(errors.BadRequest, match="scope:name"):
            lake.replicas("no-scope")
        with pytest.raises(errors.NotFound):
            lake.rule("0123456789abcdef0123456789abcdef")
        assert {r["rse"] for r in lake.rses("type=DATADISK")} == {"LAPP-DISK", "NAPOLI-DISK"}
        lake.logout()
        with pytest.raises(errors.Unauthorized, match="not logged in"):
            lake.scopes()


def test_every_lake_command_fails_in_one_line_on_bad_arguments(lake_server, embedded_lake):
    """Logged in to the real lake, each `vrelab lake` command that takes input gets a wrong value
    for it (no DID, rule, RSE or file of that spelling exists): exit code 1 or 2, one line, no
    traceback, and no job recorded for it."""
    from test_client_cli import _assert_one_line_failure, _bad_arguments, _leaf_commands, _needs_input

    from vrelab.cli.lake import lake

    with Client(lake_server.url, lake_server.token) as c:
        c.lake.login(account=embedded_lake.user, password=embedded_lake.password(embedded_lake.user))
        jobs_before = c.jobs(limit=1000)["total"]
        runner = CliRunner()
        tried = []
        try:
            for path, cmd in _leaf_commands(lake, ("lake",)):
                if not _needs_input(cmd) or path[1] in ("up", "down", "status", "reset", "seed", "token", "login"):
                    continue
                args = ["--url", lake_server.url, "--token", lake_server.token, *path, *_bad_arguments(cmd)]
                _assert_one_line_failure(path, runner.invoke(main, args))
                tried.append(" ".join(path))
        finally:
            c.lake.logout()
        assert {"lake download", "lake upload", "lake multiply", "lake show", "lake rules add"} <= set(tried)
        assert c.jobs(limit=1000)["total"] == jobs_before

"""``Client().fit`` and ``vrelab fit`` against a real Jupyter server process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

pyhf = pytest.importorskip("pyhf")

from test_fit_api import simple_patchset, simple_workspace  # noqa: E402

from servers import JupyterServerProcess  # noqa: E402
from vrelab import errors  # noqa: E402
from vrelab.cli import main  # noqa: E402
from vrelab.client import Client  # noqa: E402


@pytest.fixture(scope="module")
def a_fit_server(tmp_path_factory):
    server = JupyterServerProcess(tmp_path_factory.mktemp("fit-server"), vrelab_config={"fit_workers": 2})
    server.start()
    ws = simple_workspace()
    folder = server.root / "simple"
    folder.mkdir()
    (folder / "BkgOnly.json").write_text(json.dumps(ws))
    (folder / "patchset.json").write_text(json.dumps(simple_patchset(ws)))
    yield server
    server.stop()


def _cli(server, *args):
    return CliRunner().invoke(main, ["--url", server.url, "--token", server.token, *args])


def test_client_fit_methods(a_fit_server):
    with Client(a_fit_server.url, a_fit_server.token) as client:
        ws = client.fit.add(path="simple")
        assert ws["n_patches"] == 6
        assert client.fit.patches(ws["id"])["labels"] == ["m1", "m2"]
        seen = []
        result = client.fit.hypotest(ws["id"], patch="pt_100_0", on_progress=lambda j: seen.append(j["state"]))
        assert 0 < result["CLs_obs"] < 1 and seen
        scan = client.fit.scan(ws["id"], workers=2)
        assert scan["n_points"] == 6 and scan["n_failed"] == 0 and scan["contours"]
        with pytest.raises(errors.NotFound, match="no patch named"):
            client.fit.hypotest(ws["id"], patch="nope")
        job = client.fit.mle(ws["id"], wait=False)
        assert job["kind"] == "fit.mle" and job["state"] in ("queued", "running", "succeeded")


def test_cli_fit_commands(a_fit_server):
    server = a_fit_server
    r = _cli(server, "fit", "add", "simple", "--json")
    assert r.exit_code == 0, r.output
    wid = json.loads(r.output)["id"]
    r = _cli(server, "fit", "ls")
    assert r.exit_code == 0 and wid[:12] in r.output
    r = _cli(server, "fit", "inspect", wid[:8], "--patches")
    assert r.exit_code == 0, r.output
    assert "singlechannel" in r.output and "pt_300_50" in r.output and "m1=300" in r.output
    r = _cli(server, "fit", "cls", wid, "-p", "pt_200_50", "--json")
    assert r.exit_code == 0, r.output
    assert 0 < json.loads(r.output)["CLs_obs"] < 1
    r = _cli(server, "fit", "cls", wid, "-p", "pt_200_50")
    assert r.exit_code == 0 and "CLs_obs" in r.output and "(cached)" in r.output
    r = _cli(server, "fit", "limit", wid, "-p", "pt_200_50", "--scan", "0:5:11")
    assert r.exit_code == 0 and "observed limit" in r.output, r.output
    r = _cli(server, "fit", "fit", wid)
    assert r.exit_code == 0 and "POI mu" in r.output, r.output
    r = _cli(server, "fit", "scan", wid, "--only", "pt_100_0", "--only", "pt_300_50")
    assert r.exit_code == 0 and "2 points" in r.output, r.output
    r = _cli(server, "fit", "cls", wid, "-p", "nope")
    assert r.exit_code == 1 and "no patch named 'nope'" in r.output and "Traceback" not in r.output


def test_cli_cls_and_scan_choose_the_engine_and_say_which_answered(a_fit_server):
    pytest.importorskip("jax")
    server = a_fit_server
    wid = json.loads(_cli(server, "fit", "add", "simple", "--json").output)["id"]
    answers = {}
    for engine in ("pyhf", "jax"):
        r = _cli(server, "fit", "cls", wid, "-p", "pt_300_0", "--test-poi", "0.7", "--engine", engine)
        assert r.exit_code == 0, r.output
        assert r.stdout.strip().splitlines()[-1] == f"engine: {engine}", r.output
        r = _cli(server, "fit", "cls", wid, "-p", "pt_300_0", "--test-poi", "0.7", "--engine", engine, "--json")
        assert r.exit_code == 0, r.output
        answers[engine] = json.loads(r.output)
        assert answers[engine]["engine"] == engine
    assert answers["jax"]["CLs_obs"] == pytest.approx(answers["pyhf"]["CLs_obs"], abs=1e-4)
    # without --engine the server chooses (its default: the compiled engine)
    r = _cli(server, "fit", "cls", wid, "-p", "pt_300_0", "--test-poi", "0.7")
    assert r.exit_code == 0 and r.stdout.strip().splitlines()[-1] == "engine: jax", r.output
    r = _cli(
        server, "fit", "scan", wid, "--only", "pt_100_0", "--only", "pt_300_50", "--test-poi", "0.7", "--engine", "pyhf"
    )
    assert r.exit_code == 0, r.output
    lines = r.stdout.strip().splitlines()
    assert lines[0].split()[-2:] == ["ENGINE", "ERROR"]
    assert [line.split()[-1] for line in lines[2:4]] == ["pyhf", "pyhf"], r.output
    assert lines[-1] == "engine: pyhf (2 points)", r.output
    r = _cli(server, "fit", "scan", wid, "--only", "pt_100_0", "--test-poi", "0.7", "--engine", "jax", "--json")
    assert r.exit_code == 0, r.output
    assert [p["engine"] for p in json.loads(r.output)["points"]] == ["jax"]
    r = _cli(server, "fit", "cls", wid, "--engine", "numpy")
    assert r.exit_code == 2 and "'numpy' is not one of 'jax', 'pyhf'" in r.output, r.output


def test_cli_fit_messages_name_what_is_wrong(a_fit_server, tmp_path):
    server = a_fit_server
    r = _cli(server, "fit", "cls", "deadbeef")
    assert r.exit_code == 1 and "Error: No workspace 'deadbeef'" in r.stderr, r.output
    assert "No such file or folder" not in r.output
    r = _cli(server, "fit", "add", "../elsewhere/BkgOnly.json")
    assert r.exit_code == 1 and "leads outside your home folder" in r.stderr and "--upload" in r.stderr, r.output
    wid = json.loads(_cli(server, "fit", "add", "simple", "--json").output)["id"]
    r = _cli(server, "fit", "limit", wid, "-p", "pt_300_50", "--poi-range", "0", "8", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["method"] == "toms748"
    with Client(server.url, server.token) as client:
        assert client.jobs(kind="fit.limit", limit=1)["jobs"][0]["params"]["poi_range"] == [0.0, 8.0]
    r = _cli(server, "fit", "limit", wid, "--poi-range", "0", "8", "--scan", "0:5:11")
    assert r.exit_code == 2 and "either --scan" in r.output
    r = _cli(server, "fit", "scan", wid, "--level", "1.5")
    assert r.exit_code == 1 and "'level' must be a number between 0 and 1" in r.stderr


def test_cli_upload_of_a_missing_file_is_one_line_naming_it(a_fit_server, tmp_path):
    """Through the installed command, as a user runs it: stderr is one line, no traceback."""
    missing = tmp_path / "no-such-workspace.json"
    env = {**os.environ, "VRELAB_URL": a_fit_server.url, "VRELAB_TOKEN": a_fit_server.token}
    done = subprocess.run(
        [sys.executable, "-m", "vrelab", "fit", "add", "--upload", str(missing)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [f"Error: No such file on this machine: '{missing}'."]


def test_a_limit_from_the_widget_is_a_cache_hit_for_the_cli(a_fit_server):
    """One set of fit defaults: the FitPanel and `vrelab fit limit` send the same job for the same
    limit (the server fills in what neither chose), so the second one is answered from the cache."""
    from vrelab.widgets import FitPanel

    server = a_fit_server
    with Client(server.url, server.token) as client:
        wid = client.fit.add(path="simple")["id"]
        patch = "pt_100_50"
        panel = FitPanel(client)
        panel.select_workspace(wid)
        panel.patch.value = patch
        panel.set_action("fit.limit")
        assert panel.banner.message == ""
        panel.run_button.click()
        widget_job = panel.wait(timeout=300)
        assert widget_job["state"] == "succeeded", panel.banner.message
        assert panel.result["cached"] is False
        r = _cli(server, "fit", "limit", wid, "-p", patch, "--json")
        assert r.exit_code == 0, r.output
        assert json.loads(r.output)["cached"] is True
        # the same parameters: the server answered with the widget's job, no second one was made
        mine = [j["id"] for j in client.jobs(kind="fit.limit", limit=1000)["jobs"] if j["params"]["patch"] == patch]
        assert mine == [widget_job["id"]]
        # with that job gone, the CLI's new job has the same parameters and is answered from the cache
        client.delete_job(widget_job["id"])
        r = _cli(server, "fit", "limit", wid, "-p", patch, "--json")
        assert r.exit_code == 0 and json.loads(r.output)["cached"] is True, r.output
        cli_job = client.jobs(kind="fit.limit", limit=1)["jobs"][0]
        assert cli_job["id"] != widget_job["id"] and cli_job["params"] == widget_job["params"]
        assert client.fit.limit(wid, patch)["cached"] is True  # and the client's own call

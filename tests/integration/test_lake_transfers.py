"""Data-lake transfers (download, upload, multiply jobs), the CLI and the notebook helpers, against the
real embedded Rucio server through a real vrelab server process.

Every job record, job log and CLI output of the module is kept, with the server's log; the last test
proves the lake password appears in none of them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lake_fixtures import EmbeddedLake, LakeSandbox, wait_for
from servers import LIKELIHOODS, JupyterServerProcess
from vrelab import errors
from vrelab.cli import main
from vrelab.client import Client
from vrelab.lake import checksums

pytestmark = pytest.mark.lake

SCRATCH, NAPOLI = "LAPP-SCRATCHDISK", "NAPOLI-DISK"
SEEN: list[str] = []  # job records, logs and CLI outputs of this module


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, embedded_lake: EmbeddedLake):
    lake = json.loads(embedded_lake.jupyter_config.read_text())["VRELab"]
    (instance,) = lake["lake_instances"]  # "embedded", the user's identity by password file
    workdir = tmp_path_factory.mktemp("lake-transfers")
    # no rucio.cfg anywhere (as on a fresh image): the identity is the one vrelab stores
    no_config = {"RUCIO_CONFIG": None, "VIRTUAL_ENV": None, "CONDA_PREFIX": None, "RUCIO_HOME": str(workdir)}
    proc = JupyterServerProcess(
        workdir,
        vrelab_config={"lake_instances": [instance], "default_lake_instance": "embedded", "lake_timeout_seconds": 10},
        extra_args=["--ServerApp.log_level=DEBUG"],
        env=no_config,
    )
    yield proc.start()
    proc.stop()
    SEEN.append(proc.log_path.read_text(errors="replace"))


@pytest.fixture(scope="module")
def client(server: JupyterServerProcess):
    with Client(server.url, server.token, timeout=60) as c:
        yield c


def _done(client: Client, job: dict[str, Any]) -> dict[str, Any]:
    final = client.wait(job["id"])
    SEEN.append(json.dumps(final))
    SEEN.append(client.job_log(job["id"]))
    return final


def _files(server: JupyterServerProcess, folder: str, n: int, size: int = 2048) -> list[str]:
    (server.root / folder).mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        rel = f"{folder}/f{i}_{uuid.uuid4().hex[:6]}.root"
        (server.root / rel).write_bytes(os.urandom(size + i))
        out.append(rel)
    return out


# ---------------------------------------------------------------- upload


def test_plain_user_uploads_three_files_into_one_dataset_with_a_lifetime(client, server, lake_sandbox, embedded_lake):
    sb: LakeSandbox = lake_sandbox
    files = _files(server, "up", 3)
    dataset = f"new_{uuid.uuid4().hex[:6]}"
    job = client.submit(
        "lake.upload", {"files": files, "scope": sb.scope, "rse": SCRATCH, "dataset": dataset, "lifetime": 3600}
    )
    assert "password" not in json.dumps(job["params"]) and "_lake" not in job["params"]
    final = _done(client, job)
    assert final["state"] == "succeeded", final["error"]
    result = final["result"]
    assert [f["ok"] for f in result["files"]] == [True, True, True]
    assert [f["state"] for f in result["files"]] == ["uploaded"] * 3
    assert result["dataset"] == f"{sb.scope}:{dataset}" and result["dataset_state"] == "created"
    assert final["progress"]["done"] == final["progress"]["total"]
    # in the lake: three files in the dataset, each with the checksum of its local file, AVAILABLE
    rucio = embedded_lake.client()
    content = {f["name"]: f for f in rucio.list_files(sb.scope, dataset)}
    assert set(content) == {Path(f).name for f in files}
    for rel in files:
        assert content[Path(rel).name]["adler32"] == checksums.of_file(server.root / rel).adler32
    rules = client.lake.did_rules(f"{sb.scope}:{dataset}")["items"]
    assert len(rules) == 1 and rules[0]["rse_expression"] == SCRATCH and rules[0]["expires_at"] is not None
    assert rules[0]["account"] == embedded_lake.user
    # again: nothing is sent twice, and the same lifetime on the existing dataset is fine
    again = _done(client, client.resubmit(job["id"]))
    assert again["state"] == "succeeded" and [f["state"] for f in again["result"]["files"]] == ["present"] * 3


def test_upload_refuses_bad_parameters_before_queueing(client, server, lake_sandbox):
    (server.root / "up").mkdir(exist_ok=True)
    good = _files(server, "up", 1)
    base = {"scope": lake_sandbox.scope, "rse": SCRATCH}
    cases = [
        ({**base, "files": ["../../etc/passwd"]}, errors.BadRequest, "outside your home"),
        ({**base, "files": ["/etc/passwd"]}, errors.BadRequest, "Absolute paths"),
        ({**base, "files": ["up/not-there.root"]}, errors.BadRequest, "No such file"),
        ({**base, "files": good, "lifetime": -5}, errors.BadRequest, "'lifetime'"),
        ({"files": good, "rse": SCRATCH}, errors.BadRequest, "'scope' is required"),
        ({**base, "files": good, "password": "x"}, errors.BadRequest, "Unknown parameter"),
    ]
    before = client.jobs(kind="lake.upload")["total"]
    for params, cls, fragment in cases:
        with pytest.raises(cls) as info:
            client.submit("lake.upload", params)
        assert fragment in info.value.message, (params, info.value.message)
    assert client.jobs(kind="lake.upload")["total"] == before  # nothing queued


def test_upload_of_a_changed_file_under_an_existing_name_is_a_conflict(client, server, lake_sandbox):
    (rel,) = _files(server, "up", 1)
    first = _done(client, client.lake.upload(rel, scope=lake_sandbox.scope, rse=SCRATCH, wait=False))
    assert first["state"] == "succeeded"
    (server.root / rel).write_bytes(b"other content")
    with pytest.raises(errors.Conflict) as info:
        client.lake.upload(rel, scope=lake_sandbox.scope, rse=SCRATCH)
    assert "different content" in info.value.message


# ---------------------------------------------------------------- download


def _dataset_with_files(sb: LakeSandbox, n: int = 4) -> list[Path]:
    paths = [sb.make_file(size=40_000 + 1000 * i) for i in range(n)]
    sb.upload(*paths)
    return paths


def test_download_a_dataset_with_progress_verified_then_resume(client, server, lake_sandbox):
    originals = {p.name: p.read_bytes() for p in _dataset_with_files(lake_sandbox)}
    dest = f"dl/{uuid.uuid4().hex[:6]}"
    job = client.submit("lake.download", {"dids": [lake_sandbox.did], "dest": dest, "workers": 2})
    events = [e["job"] for e in client.events(job["id"])]
    SEEN.append(json.dumps(events))
    final = _done(client, job)
    assert final["state"] == "succeeded", final["error"]
    progress = [e["progress"] for e in events if e["state"] == "running" and e["progress"]["total"]]
    assert progress and progress[-1]["done"] <= progress[-1]["total"]
    assert any("files" in p["message"] for p in progress)
    assert [p["done"] for p in progress] == sorted(p["done"] for p in progress)
    result = final["result"]
    assert result["counts"] == {"downloaded": 4, "present": 0, "failed": 0}
    assert result["bytes_downloaded"] == sum(len(b) for b in originals.values())
    for f in result["files"]:
        path = server.root / f["path"]
        assert f["local_path"] == str(path) and f["verified"] == "adler32" and f["via"] == "local-copy"
        assert path.read_bytes() == originals[path.name]
    assert not list((server.root / dest).glob("*.part"))
    # resume: one file gone, one damaged (same size), a stale .part left by a crash
    gone, damaged, *_ = sorted((server.root / dest).iterdir())
    gone.unlink()
    damaged.write_bytes(b"\0" * damaged.stat().st_size)
    (server.root / dest / "stale.root.part").write_bytes(b"half")
    again = _done(client, client.resubmit(job["id"]))
    assert again["state"] == "succeeded"
    states = {Path(f["path"]).name: f["state"] for f in again["result"]["files"]}
    assert states == {name: ("downloaded" if name in (gone.name, damaged.name) else "present") for name in originals}
    for name, data in originals.items():
        assert (server.root / dest / name).read_bytes() == data


def test_download_through_the_rse_protocol_and_a_single_file(client, server, lake_sandbox):
    (path,) = _dataset_with_files(lake_sandbox, 1)
    job = client.lake.download(f"{lake_sandbox.scope}:{path.name}", dest="proto", prefer_local=False, rse=SCRATCH)
    (f,) = job["result"]["files"]
    assert f["via"] == "protocol" and f["rse"] == SCRATCH and f["state"] == "downloaded"
    assert (server.root / "proto" / path.name).read_bytes() == path.read_bytes()


def test_download_destination_must_stay_inside_the_root(client, server, tmp_path, lake_sandbox):
    outside = tmp_path / "outside"
    outside.mkdir()
    (server.root / "escape").symlink_to(outside, target_is_directory=True)
    (server.root / "afile").write_text("x")
    for dest, fragment in [
        ("../elsewhere", "outside your home"),
        ("/tmp/x", "Absolute paths"),
        ("escape/sub", "outside your home"),
        ("afile", "is a file"),
    ]:
        with pytest.raises(errors.BadRequest) as info:
            client.submit("lake.download", {"dids": [lake_sandbox.did], "dest": dest})
        assert info.value.status == 400 and fragment in info.value.message, (dest, info.value.message)
    for dids in ([], ["no-colon"], ["ATLAS_OD_EDU:../x"]):
        with pytest.raises(errors.BadRequest):
            client.submit("lake.download", {"dids": dids})
    with pytest.raises(errors.BadRequest):
        client.submit("lake.download", {"dids": [lake_sandbox.did], "instance": "nowhere"})
    assert not list(outside.iterdir())


def test_unknown_dids_and_scopes_are_404s_at_submission_and_no_job_is_recorded(client):
    before = client.jobs(limit=1000)["total"]
    with pytest.raises(errors.NotFound) as info:
        client.submit("lake.download", {"dids": ["ATLAS_OD_EDU:no-such-file.root"]})
    assert info.value.status == 404
    assert "no DID 'no-such-file.root' in scope 'ATLAS_OD_EDU'" in info.value.message
    with pytest.raises(errors.NotFound, match="has no scope 'NOSCOPE'"):
        client.lake.download("NOSCOPE:anything", wait=False)
    with pytest.raises(errors.NotFound, match="no DID 'nope.data'"):
        client.lake.multiply("ATLAS_OD_EDU:nope.data", rse=SCRATCH, replicate_to=NAPOLI, wait=False)
    assert client.jobs(limit=1000)["total"] == before


def test_a_published_likelihood_is_read_from_the_lake_by_its_did(client, server, lake_sandbox):
    """POST fit/workspaces {"did": ...}: the HEPData archive is fetched from the lake and stored; a
    DID of several files or of nothing is refused by name; no fetched copy stays behind."""
    sb: LakeSandbox = lake_sandbox
    archive = sb.workdir / f"staus_{uuid.uuid4().hex[:6]}.tar.gz"
    shutil.copy(LIKELIHOODS / "archives" / "ATLAS-SUSY-2018-04_likelihoods.tar.gz", archive)
    sb.upload(archive, sb.make_file())
    did = f"{sb.scope}:{archive.name}"
    ws = client.fit.add(did=did, region="Region-combined", labels=["mstau", "mn1"], name="staus from the lake")
    assert ws["source"] == {"type": "did", "did": did}
    assert ws["n_patches"] == 57 and ws["labels"] == ["mstau", "mn1"]
    assert len(client.fit.inspect(ws["id"])["summary"]["channels"]) == ws["n_channels"] > 0
    with pytest.raises(errors.BadRequest, match="holds 2 files"):
        client.fit.add(did=sb.did)
    with pytest.raises(errors.NotFound):
        client.fit.add(did=f"{sb.scope}:no-such-likelihood.json")
    assert list((server.data_dir / "lake-reads").iterdir()) == []


def test_stopped_lake_fails_clearly_and_the_download_resumes_after(client, server, lake_sandbox, embedded_lake):
    originals = {p.name: p.read_bytes() for p in _dataset_with_files(lake_sandbox, 3)}
    dest = f"dl/{uuid.uuid4().hex[:6]}"
    first = _done(client, client.submit("lake.download", {"dids": [lake_sandbox.did], "dest": dest}))
    assert first["state"] == "succeeded"
    (server.root / dest / sorted(originals)[0]).unlink()
    embedded_lake.server.server.stop()
    try:
        with pytest.raises(errors.Unavailable) as info:
            client.lake.search(f"{lake_sandbox.scope}:*")
        assert "cannot be reached" in info.value.message and info.value.status == 503
        failed = _done(client, client.resubmit(first["id"]))
        assert failed["state"] == "failed" and failed["error"]["code"] == "unavailable"
        assert "cannot be reached" in failed["error"]["message"] and "Resubmit" in failed["error"]["message"]
        assert not list((server.root / dest).glob("*.part"))
    finally:
        embedded_lake.server.up()
    resumed = _done(client, client.resubmit(failed["id"]))
    assert resumed["state"] == "succeeded"
    assert resumed["result"]["counts"] == {"downloaded": 1, "present": 2, "failed": 0}
    for name, data in originals.items():
        assert (server.root / dest / name).read_bytes() == data


def test_rucio_killed_mid_download_loses_nothing(client, server, lake_sandbox, embedded_lake):
    """The lake's Rucio server is SIGKILLed while a download runs. The replicas were resolved
    before the first byte, so the transfer finishes from storage, every file verified, no .part
    left; the catalogue answers again once the server is back."""
    sb: LakeSandbox = lake_sandbox
    paths = [sb.make_file(size=24 * 2**20 + i) for i in range(6)]
    sb.upload(*paths)
    digests = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in paths}
    dest = f"dl/{uuid.uuid4().hex[:6]}"
    job = client.submit("lake.download", {"dids": [sb.did], "dest": dest, "workers": 1})
    killed_at: dict[str, Any] | None = None
    try:
        for event in client.events(job["id"]):
            state, progress = event["job"]["state"], event["job"]["progress"]
            if killed_at is None and state == "running" and (progress.get("done") or 0) > 0:
                os.kill(embedded_lake.server.server.running_pid(), signal.SIGKILL)
                killed_at = progress
        final = _done(client, job)
    finally:
        embedded_lake.server.server.stop()  # reaps the killed process, removes its PID file
        embedded_lake.server.up()
    assert killed_at is not None and killed_at["done"] < killed_at["total"], "not killed mid-download"
    assert final["state"] == "succeeded", final["error"]
    assert final["result"]["counts"] == {"downloaded": 6, "present": 0, "failed": 0}
    for name, digest in digests.items():
        assert hashlib.md5((server.root / dest / name).read_bytes()).hexdigest() == digest
    assert not list((server.root / dest).glob("*.part"))
    assert client.lake.did(sb.did)["length"] == 6  # the restarted lake answers


# ---------------------------------------------------------------- multiply


def test_multiply_merges_uploads_copies_and_replicates(client, server, lake_sandbox, embedded_lake):
    import uproot

    name = f"mult_{uuid.uuid4().hex[:6]}"
    seen: list[dict[str, Any]] = []
    job = client.lake.multiply(
        "ATLAS_OD_EDU:GamGam.data",
        copies=3,
        rse=SCRATCH,
        replicate_to=NAPOLI,
        lifetime=3600,
        scope=lake_sandbox.scope,
        name=name,
        on_progress=seen.append,
    )
    SEEN.append(json.dumps(job))
    result = job["result"]
    assert result["dataset"] == f"{lake_sandbox.scope}:{name}" and len(result["files"]) == 3
    assert len({f["adler32"] for f in result["files"]}) == 1  # three copies of one merged file
    assert {p["progress"]["message"].split(":")[0] for p in seen} >= {"download", "merge", "upload"}
    rule = result["rule"]
    assert rule["rse_expression"] == NAPOLI and rule["expires_at"] is not None
    rucio = embedded_lake.client()
    inputs = list(rucio.list_files("ATLAS_OD_EDU", "GamGam.data"))
    assert len(result["inputs"]) == len(inputs)
    assert len(list(rucio.list_files(lake_sandbox.scope, name))) == 3
    wait_for(lambda: client.lake.rule(rule["id"])["state"] == "OK", what="the copies on NAPOLI-DISK")
    first = result["files"][0]["did"].split(":")[1]
    on_napoli = embedded_lake.replica_path(NAPOLI, lake_sandbox.scope, first)
    assert on_napoli is not None and on_napoli.is_file()
    with uproot.open(on_napoli) as f:
        entries = f[result["tree"]].num_entries
    assert entries == result["merged"]["entries"] > 0
    expected = 0
    for row in inputs:
        src = embedded_lake.replica_path("LAPP-DISK", "ATLAS_OD_EDU", row["name"])
        with uproot.open(src) as f:
            expected += f["mini"].num_entries
    assert entries == expected
    assert not (Path(server.data_dir) / "lake-work" / job["id"]).exists()


# ---------------------------------------------------------------- notebook helpers and CLI


def test_kernel_helpers_give_paths_uproot_can_open(client, server, embedded_lake, monkeypatch):
    import uproot

    from vrelab import lake

    monkeypatch.setenv("VRELAB_URL", server.url)
    monkeypatch.setenv("VRELAB_TOKEN", server.token)
    did = "ATLAS_OD_EDU:data_A.GamGam.root"
    local = lake.open(did, progress=False)  # a replica file readable here: used in place
    assert Path(local).is_relative_to(embedded_lake.home) and uproot.open(local)["mini"].num_entries > 0
    fetched = lake.paths("ATLAS_OD_EDU:GamGam.data", download=True, dest="nb", progress=False)
    assert len(fetched) == 4 and all(Path(p).is_relative_to(server.root / "nb") for p in fetched)
    assert sum(uproot.open(p)["mini"].num_entries for p in fetched) > 0
    with pytest.raises(errors.BadRequest, match="use lake.paths"):
        lake.open("ATLAS_OD_EDU:GamGam.data", progress=False)


def test_cli_download_upload_multiply(server, lake_sandbox):
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(main, ["--url", server.url, "--token", server.token, *args])
        SEEN.append(result.output)
        assert result.exit_code == code, result.output
        return result.output

    (rel,) = _files(server, "cli", 1)
    out = json.loads(run("lake", "upload", rel, "-s", lake_sandbox.scope, "--rse", SCRATCH, "--json"))
    assert out["files"][0]["state"] == "uploaded"
    did = out["files"][0]["did"]
    text = run("lake", "download", did, "-d", "cli-dl")
    assert "1 downloaded" in text and "adler32" in text
    assert (server.root / "cli-dl" / Path(rel).name).read_bytes() == (server.root / rel).read_bytes()
    assert "Error: " in run("lake", "download", did, "-d", "../out", code=1)
    job = json.loads(run("lake", "multiply", "ATLAS_OD_EDU:4lep.data", "-n", "1", "--rse", SCRATCH,
                         "--replicate-to", NAPOLI, "-s", lake_sandbox.scope, "--no-wait", "--json"))  # fmt: skip
    assert job["kind"] == "lake.multiply" and job["params"]["copies"] == 1
    final = Client(server.url, server.token).wait(job["id"])
    assert final["state"] == "succeeded", final["error"]


def test_no_credential_in_any_job_record_log_or_output(embedded_lake, server):
    password = embedded_lake.password(embedded_lake.user)
    assert SEEN and len(password) >= 8
    for text in SEEN:
        assert password not in text
    assert password not in server.log_path.read_text(errors="replace")


@pytest.fixture
def a_full_disk(server: JupyterServerProcess):
    """A 64 KiB filesystem mounted inside the server root (a tmpfs: needs root, as CI runs)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root (CI runs as root)")
    mountpoint = server.root / f"full_{uuid.uuid4().hex[:6]}"
    mountpoint.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mountpoint)], check=True)
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)
        mountpoint.rmdir()


def test_a_full_disk_fails_the_download_clearly_and_leaves_no_partial_file(client, server, lake_sandbox, a_full_disk):
    # four files of 48 KiB: the first may fit, the others cannot
    lake_sandbox.upload(*(lake_sandbox.make_file(f"big{i}.root", size=48 * 1024) for i in range(4)))
    dest = a_full_disk.name
    final = _done(client, client.submit("lake.download", {"dids": [lake_sandbox.did], "dest": dest, "workers": 2}))
    assert final["state"] == "failed"
    message = final["error"]["message"]
    assert "No space left on device" in message and "Traceback" not in message
    assert not list(a_full_disk.glob("*.part")), "a partial file was left behind"
    for path in a_full_disk.iterdir():  # whatever is there is whole and verified
        assert path.stat().st_size == 48 * 1024
    # room again: a resubmission completes the download
    subprocess.run(["mount", "-o", "remount,size=1m", str(a_full_disk)], check=True)
    again = _done(client, client.resubmit(final["id"]))
    assert again["state"] == "succeeded", again["error"]
    assert len(list(a_full_disk.glob("big*.root"))) == 4

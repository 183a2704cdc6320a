"""The embedded data lake against a REAL Rucio 41.5.1 server (no mocks).

Most tests share the session's lake (``embedded_lake``); the fault tests use their own homes and
never start a second server, except the restart test (a small lake without samples) and the
PostgreSQL test (its own postgres, skipped when the binaries are missing).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from lake_fixtures import EmbeddedLake, LakeSandbox, wait_for
from vrelab.cli import main
from vrelab.lakeserver import LakeServer
from vrelab.lakeserver.course import COURSE_DATASET, COURSE_FILES, COURSE_SCOPE, default_material_dir
from vrelab.lakeserver.layout import OPEN_DATA_SCOPE, REPLICA_RSE, SCRATCH_RSE, USER_QUOTA_BYTES
from vrelab.lakeserver.processes import free_port

pytestmark = [pytest.mark.lake]

SAMPLE_DATASETS = {"GamGam.data", "GamGam.mc", "4lep.data", "4lep.mc"}


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=True)
    output = result.output  # stdout and stderr, interleaved
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"the CLI raised {result.exception!r}:\n{output}")
    return result.exit_code, output


def _assert_one_clear_error(code: int, output: str, *needles: str) -> None:
    assert code == 1, output
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, output
    for needle in needles:
        assert needle in errors[0], errors[0]


# ---------------------------------------------------------------- the session lake


def test_rucio_cli_with_written_config_lists_open_data_datasets(embedded_lake: EmbeddedLake) -> None:
    who = embedded_lake.rucio("whoami")
    assert embedded_lake.user in who.stdout
    pattern = f"{OPEN_DATA_SCOPE}:*"
    out = embedded_lake.rucio("list-dids", pattern, "--filter", "type=dataset", "--short").stdout
    names = {line.strip().split(":", 1)[1] for line in out.splitlines() if ":" in line}
    assert SAMPLE_DATASETS <= names
    out = embedded_lake.rucio("list-dids", pattern, "--filter", "type=container", "--short").stdout
    assert {"ATLAS_OD_EDU:GamGam", "ATLAS_OD_EDU:4lep"} <= {line.strip() for line in out.splitlines()}


def test_written_files_point_at_the_lake_and_hide_passwords(embedded_lake: EmbeddedLake) -> None:
    snippet = json.loads(embedded_lake.jupyter_config.read_text())
    instance = snippet["VRELab"]["lake_instances"][0]
    assert snippet["VRELab"]["default_lake_instance"] == "embedded" == instance["name"]
    assert instance["rucio_host"] == embedded_lake.url == instance["auth_host"]
    assert instance["auth"]["account"] == embedded_lake.user
    # the password is referenced by its 0600 file: jupyter_server logs its config at DEBUG level
    assert "password" not in instance["auth"]
    password_file = Path(instance["auth"]["password_file"])
    assert password_file.read_text().strip() == embedded_lake.password(embedded_lake.user)
    assert password_file.stat().st_mode & 0o777 == 0o600
    assert embedded_lake.password(embedded_lake.user) not in embedded_lake.jupyter_config.read_text()
    for path in (
        embedded_lake.jupyter_config,
        embedded_lake.root_config,
        embedded_lake.user_config,
        embedded_lake.user_password_file,
    ):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    code, out = _cli("lake", "status", "--home", str(embedded_lake.home))
    assert code == 0, out
    for account in ("root", embedded_lake.user):
        assert embedded_lake.password(account) not in out
    for log in (embedded_lake.home / "log").glob("*.log"):
        text = log.read_text(errors="replace")
        assert embedded_lake.password(embedded_lake.user) not in text, log


def test_sample_metadata_readable_and_filterable(embedded_lake: EmbeddedLake) -> None:
    client = embedded_lake.client()
    files = [f["name"] for f in client.list_files(OPEN_DATA_SCOPE, "GamGam.mc")]
    assert files
    meta = client.get_metadata(OPEN_DATA_SCOPE, files[0], plugin="ALL")
    for key in ("xsec", "sumw", "dsid"):
        assert key in meta, meta
    assert meta["collection"] == "GamGam" and meta["sample_kind"] == "mc"
    assert client.get_metadata(OPEN_DATA_SCOPE, "GamGam", plugin="JSON")["collection"] == "GamGam"
    dsid = int(meta["dsid"])
    found = list(client.list_dids(OPEN_DATA_SCOPE, {"dsid": dsid}, did_type="file"))
    assert files[0] in found
    mc_files = set(client.list_dids(OPEN_DATA_SCOPE, {"xsec.gt": 0}, did_type="file"))
    data_files = set(client.list_dids(OPEN_DATA_SCOPE, {"sample_kind": "data"}, did_type="file"))
    assert files[0] in mc_files and files[0] not in data_files and data_files


def test_samples_get_a_second_replica_on_napoli(embedded_lake: EmbeddedLake) -> None:
    client = embedded_lake.client("root")
    rules = client.list_did_rules(OPEN_DATA_SCOPE, "GamGam")
    rules = [r for r in rules if r["rse_expression"] == REPLICA_RSE]
    assert rules and rules[0]["expires_at"] is None
    rule_id = rules[0]["id"]
    wait_for(lambda: client.get_replication_rule(rule_id)["state"] == "OK", what="the sample rule to be OK")
    name = next(iter(client.list_files(OPEN_DATA_SCOPE, "GamGam.data")))["name"]
    path = embedded_lake.replica_path(REPLICA_RSE, OPEN_DATA_SCOPE, name)
    assert path is not None and path.is_file()
    assert str(path).startswith(str(embedded_lake.rse_roots[REPLICA_RSE]))


def test_rule_to_napoli_reaches_ok_and_copies_the_file(lake_sandbox: LakeSandbox) -> None:
    lake, client = lake_sandbox.lake, lake_sandbox.client
    src = lake_sandbox.make_file(size=4096)
    (name,) = lake_sandbox.upload(src)
    did = [{"scope": lake_sandbox.scope, "name": lake_sandbox.dataset}]
    rule_id = client.add_replication_rule(did, 1, REPLICA_RSE)[0]
    assert client.get_replication_rule(rule_id)["state"] in ("REPLICATING", "OK")
    wait_for(lambda: client.get_replication_rule(rule_id)["state"] == "OK", what="the rule to NAPOLI-DISK")
    path = lake.replica_path(REPLICA_RSE, lake_sandbox.scope, name)
    assert path is not None and path.is_file(), path
    assert path.read_bytes() == src.read_bytes()
    assert str(path).startswith(str(lake.rse_roots[REPLICA_RSE]))


def test_expired_rule_replicas_are_deleted(lake_sandbox: LakeSandbox) -> None:
    lake, client = lake_sandbox.lake, lake_sandbox.client
    (name,) = lake_sandbox.upload(lake_sandbox.make_file(size=2048))
    did = [{"scope": lake_sandbox.scope, "name": lake_sandbox.dataset}]
    rule_id = client.add_replication_rule(did, 1, REPLICA_RSE, lifetime=3600, comment="make available")[0]
    assert client.get_replication_rule(rule_id)["expires_at"] is not None
    wait_for(lambda: client.get_replication_rule(rule_id)["state"] == "OK", what="the rule to be OK")
    path = lake.replica_path(REPLICA_RSE, lake_sandbox.scope, name)
    assert path is not None and path.is_file()
    # let it expire now (Rucio's generic policy lets only an admin change a rule's lifetime)
    lake.client("root").update_replication_rule(rule_id, {"lifetime": 1})

    def gone() -> bool:
        rules = [r["id"] for r in client.list_did_rules(lake_sandbox.scope, lake_sandbox.dataset)]
        return rule_id not in rules and not path.exists()

    wait_for(gone, what="judge-cleaner and reaper to remove the expired rule's replica")
    assert lake.replica_path(REPLICA_RSE, lake_sandbox.scope, name) is None


def test_quota_is_enforced(lake_sandbox: LakeSandbox) -> None:
    from rucio.common.exception import InsufficientAccountLimit

    lake = lake_sandbox.lake
    root = lake.client("root")
    lake_sandbox.upload(lake_sandbox.make_file(size=4096))
    root.set_local_account_limit(lake.user, REPLICA_RSE, 10)
    try:
        with pytest.raises(InsufficientAccountLimit):
            lake_sandbox.client.add_replication_rule(
                [{"scope": lake_sandbox.scope, "name": lake_sandbox.dataset}], 1, REPLICA_RSE
            )
    finally:
        root.set_local_account_limit(lake.user, REPLICA_RSE, USER_QUOTA_BYTES)


def test_status_shows_accounts_rses_usage_and_quotas(lake_sandbox: LakeSandbox) -> None:
    lake = lake_sandbox.lake
    lake_sandbox.upload(lake_sandbox.make_file(size=8192))

    def user_usage() -> int:
        usage = lake.server.status().get("usage", {}).get(lake.user, {})
        return int(usage.get(SCRATCH_RSE, {}).get("used_bytes", 0))

    wait_for(lambda: user_usage() >= 8192, what="abacus to count the upload")
    status = lake.server.status()
    assert status["state"] == "running" and status["url"] == lake.url
    assert {"root", lake.user} <= set(status["accounts"])
    assert {r["rse"] for r in status["rses"]} == {"LAPP-DISK", "NAPOLI-DISK", "LAPP-SCRATCHDISK"}
    assert status["usage"][lake.user][SCRATCH_RSE]["limit_bytes"] == USER_QUOTA_BYTES
    assert {"GamGam", "4lep"} <= set(status["samples"])
    code, out = _cli("lake", "status", "--home", str(lake.home), "--json")
    assert code == 0 and json.loads(out)["usage"][lake.user][SCRATCH_RSE]["used_bytes"] >= 8192
    code, out = _cli("lake", "status", "--home", str(lake.home))
    assert code == 0 and lake.url in out and "LAPP-SCRATCHDISK" in out and "quota" in out


def test_up_on_a_running_lake_is_a_no_op(embedded_lake: EmbeddedLake) -> None:
    before = embedded_lake.server.server.running_pid()
    info = embedded_lake.server.up()
    assert info.already_running and embedded_lake.server.server.running_pid() == before


def test_up_puts_the_course_material_into_the_course_scope(embedded_lake: EmbeddedLake) -> None:
    """What ./ci/demo's lake holds for notebook 05: the HEPData archive, byte for byte, in
    school:likelihoods, readable by the student's account."""
    import zlib

    folder = default_material_dir()
    assert folder is not None
    rucio = embedded_lake.client()  # the user, not root
    files = {f["name"]: f for f in rucio.list_files(COURSE_SCOPE, COURSE_DATASET)}
    assert set(files) == set(COURSE_FILES)
    for name, metadata in COURSE_FILES.items():
        shipped = (folder / name).read_bytes()
        assert files[name]["bytes"] == len(shipped)
        assert files[name]["adler32"] == f"{zlib.adler32(shipped) & 0xFFFFFFFF:08x}"
        assert rucio.get_metadata(COURSE_SCOPE, name, plugin="ALL")["hepdata"] == metadata["hepdata"]
        (replica,) = rucio.list_replicas([{"scope": COURSE_SCOPE, "name": name}])
        assert "LAPP-DISK" in replica["rses"]
    assert embedded_lake.server.paths.course_marker.is_file()


# ---------------------------------------------------------------- bad input and faults


def test_busy_port_gives_one_clear_message(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        code, out = _cli("lake", "up", "--home", str(tmp_path / "lake"), "--port", str(port))
    _assert_one_clear_error(code, out, str(port), "--port")


def test_half_initialised_lake_gives_one_clear_message(tmp_path: Path) -> None:
    home = tmp_path / "lake"
    home.mkdir()
    (home / "rucio.db").write_bytes(b"SQLite format 3\x00 but cut short")
    code, out = _cli("lake", "up", "--home", str(home), "--port", str(free_port()))
    _assert_one_clear_error(code, out, "half-initialised", "vrelab lake reset")
    code, out = _cli("lake", "reset", "--home", str(home), "--yes")
    assert code == 0 and not (home / "rucio.db").exists(), out


def test_missing_course_material_gives_one_clear_message(tmp_path: Path) -> None:
    home = tmp_path / "lake"
    empty = tmp_path / "no-course"
    empty.mkdir()
    code, out = _cli("lake", "up", "--home", str(home), "--port", str(free_port()), "--course-material", str(empty))
    _assert_one_clear_error(code, out, next(iter(COURSE_FILES)), str(empty), "--course-material", "--no-course")
    status = LakeServer(home=home).status()
    assert status["state"] == "not created" and not status["initialised"], status  # nothing was started


def test_missing_postgresql_gives_one_clear_message(tmp_path: Path) -> None:
    port = free_port()
    code, out = _cli(
        "lake", "up", "--home", str(tmp_path / "lake"), "--port", str(free_port()),
        "--db", f"postgresql://rucio:s3cret@127.0.0.1:{port}/rucio",
    )  # fmt: skip
    _assert_one_clear_error(code, out, "PostgreSQL", f"127.0.0.1:{port}")
    assert "s3cret" not in out


def test_stale_pid_file_is_cleaned(tmp_path: Path) -> None:
    home = tmp_path / "lake"
    (home / "run").mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (home / "run" / "server.pid").write_text(f"{dead.pid}\n")
    (home / "run" / "daemons.pid").write_text(f"{os.getpid()}\n")  # alive, but not a lake process
    code, out = _cli("lake", "down", "--home", str(home))
    assert code == 0 and "Traceback" not in out, out
    assert "stale PID file" in out
    assert not (home / "run" / "server.pid").exists() and not (home / "run" / "daemons.pid").exists()


@pytest.mark.slow
def test_second_lake_restart_with_stale_pid_and_reset(tmp_path: Path) -> None:
    """A small lake of its own: cold start without samples, down, stale PID, warm up, reset."""
    home = tmp_path / "lake2"
    port = free_port()
    code, out = _cli("lake", "up", "--home", str(home), "--port", str(port), "--no-seed")
    assert code == 0, out
    try:
        code, out = _cli("lake", "down", "--home", str(home))
        assert code == 0 and "stopped the server" in out, out
        (home / "run" / "server.pid").write_text("999999\n")
        started = time.monotonic()
        code, out = _cli("lake", "up", "--home", str(home))
        warm = time.monotonic() - started
        assert code == 0 and "stale PID file" in out, out
        assert warm < 30, f"warm start took {warm:.1f} s"
        assert "creating the Rucio database" not in out  # no schema rebuild when warm
    finally:
        code, out = _cli("lake", "reset", "--home", str(home), "--yes")
    assert code == 0, out
    assert not (home / "rucio.db").exists() and not (home / "lake.json").exists()
    assert LakeServer(home=home).status()["state"] == "not created"


# ---------------------------------------------------------------- PostgreSQL

PG_BIN = Path("/usr/lib/postgresql/15/bin")


@pytest.fixture
def postgres() -> object:
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"no PostgreSQL binaries in {PG_BIN}")
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
        run_as = ["runuser", "-u", "postgres", "--"]
    # not under pytest's tmp dir: that one is private to us, and postgres runs as another user
    base = Path(tempfile.mkdtemp(prefix="vrelab-test-pg-"))
    os.chmod(base, 0o777)
    data, sock = base / "data", base
    port = free_port()

    def run(*cmd: str) -> None:
        proc = subprocess.run([*run_as, *cmd], capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            pytest.skip(f"cannot start PostgreSQL: {' '.join(cmd[:1])}: {proc.stderr.strip()[:200]}")

    run(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
    run(
        str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(base / "pg.log"), "-w", "start",
        "-o", f"-p {port} -k {sock} -c listen_addresses=127.0.0.1",
    )  # fmt: skip
    try:
        for sql in ("create user rucio password 'rucio'", "create database rucio owner rucio"):
            run(str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-c", sql)
        yield f"postgresql://rucio:rucio@127.0.0.1:{port}/rucio"
    finally:
        subprocess.run([*run_as, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, check=False)  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow
def test_postgresql_lake(postgres: str, tmp_path: Path) -> None:
    home = tmp_path / "pglake"
    server = LakeServer(home=home, port=free_port(), db=postgres)
    info = server.up(seed=False)
    try:
        status = server.status()
        assert status["state"] == "running" and "postgresql" in status["database"]
        assert "rucio:rucio@" not in status["database"]
        assert {r["rse"] for r in status["rses"]} == {"LAPP-DISK", "NAPOLI-DISK", "LAPP-SCRATCHDISK"}
        proc = subprocess.run(
            [str(server.venv.bin("rucio")), "whoami"],
            env={**os.environ, "RUCIO_CONFIG": str(info.user_config), "TMPDIR": str(tmp_path)},
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert proc.returncode == 0 and info.user in proc.stdout, proc.stderr
        # Rucio's own JSON metadata plugin works on PostgreSQL
        from rucio.client import Client

        root = Client(rucio_host=info.url, auth_host=info.url, account="root", auth_type="userpass",
                      creds={"username": "root", "password": server.password("root")})  # fmt: skip
        root.add_dataset(OPEN_DATA_SCOPE, "pg.check")
        root.set_metadata_bulk(OPEN_DATA_SCOPE, "pg.check", {"xsec": 1.5, "dsid": 123})
        assert root.get_metadata(OPEN_DATA_SCOPE, "pg.check", plugin="JSON")["xsec"] == 1.5
        assert "pg.check" in list(root.list_dids(OPEN_DATA_SCOPE, {"dsid": 123}))
    finally:
        server.reset()
    assert LakeServer(home=home).status()["state"] == "not created"


# ---------------------------------------------------------------- --auth-extras


@pytest.mark.slow
def test_auth_extras_x509_and_oidc(tmp_path: Path) -> None:
    """x509 over HTTPS with the lake's test CA, and a JWT from its OIDC issuer, both as the user."""
    home = tmp_path / "authlake"
    server = LakeServer(home=home, port=free_port(also_free=(3, 9)), auth_extras=True)
    info = server.up(seed=False)
    try:
        assert info.tls_url.startswith("https://127.0.0.1:") and info.issuer_url
        rucio = str(server.venv.bin("rucio"))

        def whoami(config: str, **env: str) -> subprocess.CompletedProcess[str]:
            tokens = Path(tempfile.mkdtemp(dir=tmp_path))  # no token cached from another login
            cfg = home / "etc" / f"rucio-{config}.cfg"
            full_env = {**os.environ, "RUCIO_CONFIG": str(cfg), "TMPDIR": str(tokens)}
            return subprocess.run([rucio, "whoami"], env=full_env | env, capture_output=True, text=True,
                                  timeout=60, check=False)  # fmt: skip

        x509 = whoami(f"{info.user}-x509")
        assert x509.returncode == 0 and f"account    : {info.user}" in x509.stdout, x509.stderr
        token = server.oidc_token(lifetime=300)
        assert token.count(".") == 2
        oidc = whoami(f"{info.user}-oidc", BEARER_TOKEN=token)
        assert oidc.returncode == 0 and f"account    : {info.user}" in oidc.stdout, oidc.stderr
        forged = whoami(f"{info.user}-oidc", BEARER_TOKEN=token[:-8] + "AAAAAAAA")
        assert f"account    : {info.user}" not in forged.stdout  # (the CLI exits 0 even then)
        assert token not in (home / "log" / "setup.log").read_text()
    finally:
        server.reset()

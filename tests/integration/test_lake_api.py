"""The data-lake REST API against the real embedded Rucio server (through jp_fetch).

Every response body of this module and every log record it produces are kept, and the last test
proves no password, token or key ever appeared in any of them.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import time

import pytest

from lake_fixtures import wait_for
from servers import free_port

pytestmark = pytest.mark.lake

EMB = "lake/instances/embedded"
DEAD = "lake/instances/dead"
RJL = "lake/instances/rjl"  # configured in rucio-jupyterlab's format
MC_FILE = "ATLAS_OD_EDU:mc_343981.ggH125_gamgam.GamGam.root"

SEEN_BODIES: list[str] = []
SEEN_LOGS: list[str] = []
SECRETS: set[str] = set()


class _Collect(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            SEEN_LOGS.append(self.format(record))
        except Exception:  # a record that cannot be formatted cannot leak either
            pass


@pytest.fixture(scope="module", autouse=True)
def every_log_record():
    """All log records of the module, at DEBUG (rucio-clients logs headers at DEBUG)."""
    handler = _Collect(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for noisy in ("asyncio", "charset_normalizer", "dogpile", "urllib3", "tornado.access"):
        logging.getLogger(noisy).setLevel(logging.INFO)
    yield
    root.removeHandler(handler)
    root.setLevel(old_level)


@pytest.fixture
def jp_server_config(tmp_path, embedded_lake, request):
    lake = json.loads(embedded_lake.jupyter_config.read_text())["VRELab"]
    # the password by file, not in the config: jupyter_server logs its whole config at DEBUG level
    (embedded,) = lake["lake_instances"]
    auth = dict(embedded["auth"])
    auth.pop("password_file", None)
    SECRETS.add(embedded_lake.password(embedded_lake.user))
    embedded = {**embedded, "auth": {**auth, "password_file": str(embedded_lake.user_password_file)}}
    dead_password = tmp_path / "dead.password"
    dead_password.write_text("dead-lake-password\n")
    extra = []
    if "auth_lake" in request.fixturenames:  # x509 and OIDC instances, for the tests that ask
        info = request.getfixturevalue("auth_lake")[1]
        ca = str(info.home / "certs" / "ca.pem")
        extra = [
            {"name": "tls", "rucio_host": info.tls_url, "ca_cert": ca},
            {"name": "tls-noca", "rucio_host": info.tls_url},
            {"name": "oidc", "rucio_host": info.url},
        ]
    SECRETS.add(embedded_lake.password(embedded_lake.user))
    dead = {
        "name": "dead",
        "rucio_host": f"http://127.0.0.1:{free_port()}",  # nobody listens: the lake is "stopped"
        "auth": {"auth_type": "userpass", "account": "nobody", "password_file": str(dead_password)},
    }
    SECRETS.add("dead-lake-password")
    rucio_jupyterlab = {  # an operator's existing rucio-jupyterlab configuration, unchanged
        "instances": [
            {
                "name": "rjl",
                "display_name": "Embedded lake (rucio-jupyterlab config)",
                "rucio_base_url": embedded_lake.url,
                "rucio_auth_url": embedded_lake.url,
                "rucio_webui_url": "https://webui.example.org",
                "site_name": "LAPP",
                "mode": "replica",
                "destination_rse": "NAPOLI-DISK",
                "rse_mount_path": "/eos/rucio",
                "replication_rule_lifetime_days": 2,
                "oidc_auth": "file",
                "oidc_file_name": "/tmp/not-there/token",
            }
        ],
        "default_auth_type": "userpass",
    }
    return {
        "ServerApp": {"jpserver_extensions": {"vrelab": True}},
        "VRELab": {
            "data_dir": str(tmp_path / "vrelab-data"),
            "lake_instances": [embedded, dead, *extra],
            "default_lake_instance": "embedded",
            "lake_timeout_seconds": 10,
        },
        "RucioConfig": rucio_jupyterlab,
    }


@pytest.fixture
def api(api):
    """The api fixture, remembering every response body (to prove no secret ever leaks)."""

    async def call(*args, **kwargs):
        code, body = await api(*args, **kwargs)
        SEEN_BODIES.append(body if isinstance(body, str) else json.dumps(body))
        return code, body

    return call


@pytest.fixture
def data_dir(jp_serverapp):
    return jp_serverapp.web_app.settings["vrelab"].data_dir


def _iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


# ---------------------------------------------------------------- instances and identity


async def test_instances_from_both_configuration_formats(api, embedded_lake):
    code, data = await api("GET", "lake/instances")
    assert code == 200
    by_name = {i["name"]: i for i in data["instances"]}
    assert set(by_name) == {"embedded", "dead", "rjl"}
    emb = by_name["embedded"]
    assert emb["default"] and emb["logged_in"] and emb["source"] == "configured"
    assert emb["account"] == embedded_lake.user and emb["auth_type"] == "userpass"
    rjl = by_name["rjl"]
    assert rjl["rucio_host"] == embedded_lake.url and rjl["display_name"].endswith("(rucio-jupyterlab config)")
    assert rjl["destination_rse"] == "NAPOLI-DISK" and rjl["rule_lifetime_days"] == 2
    assert rjl["webui_url"] == "https://webui.example.org" and rjl["default_auth_type"] == "userpass"
    assert rjl["oidc_token_source"] == "file:/tmp/not-there/token"
    assert not rjl["logged_in"] and rjl["source"] is None


async def test_whoami_scopes_and_token_expiry(api, embedded_lake):
    code, who = await api("GET", f"{EMB}/whoami")
    assert code == 200 and who["account"] == embedded_lake.user and who["source"] == "configured"
    expires = _iso(who["token_expires_at"])
    now = dt.datetime.now(dt.UTC)
    assert now < expires <= now + dt.timedelta(hours=25)  # Rucio's token lifetime
    code, creds = await api("GET", f"{EMB}/credentials")
    assert code == 200 and creds["token_expires_at"] == who["token_expires_at"] and "password" not in creds
    code, data = await api("GET", f"{EMB}/scopes")
    assert code == 200 and "ATLAS_OD_EDU" in data["scopes"] and data["scopes"] == sorted(data["scopes"])


async def test_not_logged_in_is_401_saying_how(api):
    code, err = await api("GET", f"{RJL}/scopes")
    assert code == 401 and "vrelab lake login rjl" in err["error"]["message"]


async def test_credentials_are_checked_stored_privately_and_never_shown(api, embedded_lake, data_dir):
    user = embedded_lake.user
    password = embedded_lake.password(user)
    # the configured identity has a token cached by now; a wrong password must still be refused
    assert (await api("GET", f"{RJL}/scopes"))[0] == 401
    assert (await api("GET", f"{EMB}/scopes"))[0] == 200
    wrong = {"auth_type": "userpass", "account": user, "password": "wrong-password-123"}
    SECRETS.add(wrong["password"])
    for instance in (EMB, RJL):
        code, err = await api("PUT", f"{instance}/credentials", wrong)
        assert code == 401 and "did not accept your credentials" in err["error"]["message"]
    assert not (data_dir / "lake-credentials" / "rjl").exists()
    # right: stored, 0600 in a 0700 folder, shown without the password
    code, saved = await api(
        "PUT", f"{RJL}/credentials", {"auth_type": "userpass", "account": user, "password": password}
    )
    assert code == 200 and saved["source"] == "stored" and saved["username"] == user
    assert _iso(saved["token_expires_at"]) > dt.datetime.now(dt.UTC)
    folder = data_dir / "lake-credentials"
    assert folder.stat().st_mode & 0o777 == 0o700
    assert (folder / "rjl").stat().st_mode & 0o777 == 0o700
    assert (folder / "rjl" / "credentials.json").stat().st_mode & 0o777 == 0o600
    tokens = data_dir / "lake-tokens"
    assert tokens.stat().st_mode & 0o777 == 0o700
    for path in tokens.rglob("*"):
        assert path.stat().st_mode & 0o077 == 0, path  # nothing for group or others
    code, shown = await api("GET", f"{RJL}/credentials")
    assert code == 200 and shown["source"] == "stored" and set(shown) >= {"auth_type", "account", "username"}
    code, listed = await api("GET", "lake/instances")
    assert {i["name"]: i for i in listed["instances"]}["rjl"]["logged_in"]
    assert (await api("GET", f"{RJL}/whoami"))[1]["source"] == "stored"
    # forgetting: 204, then 404 (nothing stored), and the instance is not logged in any more
    assert (await api("DELETE", f"{RJL}/credentials"))[0] == 204
    assert (await api("DELETE", f"{RJL}/credentials"))[0] == 404
    assert (await api("GET", f"{RJL}/credentials"))[0] == 404
    assert not (folder / "rjl").exists()
    # the operator's identity cannot be deleted, only overridden
    assert (await api("DELETE", f"{EMB}/credentials"))[0] == 404


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"auth_type": "kerberos", "account": "x"}, "auth_type must be one of"),
        ({"auth_type": "userpass", "account": "x"}, "'password' is required"),
        ({"auth_type": "userpass", "account": "Bad Account", "password": "p"}, "'account' holds characters"),
        ({"auth_type": "userpass", "account": "x", "password": "p", "colour": "red"}, "Unknown field"),
        ({"auth_type": "userpass", "account": "x", "password": "line\nbreak"}, "'password' holds characters"),
        ({"auth_type": "x509", "account": "x", "certificate": "c.pem"}, "are required"),
        ({"auth_type": "x509", "account": "x", "certificate": "c.pem", "key_pem": "-----BEGIN K"}, "not a mix"),
        ({"auth_type": "x509_proxy", "account": "x", "proxy_pem": "no pem here"}, "must be PEM text"),
        ({"auth_type": "oidc", "account": "x", "token_env": "A", "token": "a.b.c"}, "exactly one of"),
        ({"auth_type": "oidc", "account": "x", "token_env": "1BAD"}, "'token_env' holds characters"),
        ({"auth_type": "oidc", "account": "x", "token": "not-a-jwt"}, "'token' holds characters"),
    ],
)
async def test_credentials_refuse_malformed_input(api, body, fragment):
    code, err = await api("PUT", f"{RJL}/credentials", body)
    assert code == 400 and fragment in err["error"]["message"], err


async def test_oidc_source_defaults_to_the_instance_one(api):
    code, err = await api("PUT", f"{EMB}/credentials", {"auth_type": "oidc", "account": "x"})
    assert code == 400 and "exactly one of" in err["error"]["message"]
    # rjl names oidc_file_name (rucio-jupyterlab's oidc_auth = file): used when none is given
    code, err = await api("PUT", f"{RJL}/credentials", {"auth_type": "oidc", "account": "x"})
    assert code == 401 and "/tmp/not-there/token cannot be read" in err["error"]["message"]


async def test_credential_files_must_be_inside_the_home_folder(api, embedded_lake):
    code, err = await api(
        "PUT", f"{RJL}/credentials", {"auth_type": "x509", "account": "x", "certificate": "/etc/passwd", "key": "k"}
    )
    assert code == 403 and "home folder" in err["error"]["message"]
    code, err = await api(
        "PUT", f"{RJL}/credentials", {"auth_type": "x509_proxy", "account": "x", "proxy": "../../etc/passwd"}
    )
    assert code == 403
    code, err = await api("PUT", f"{RJL}/credentials", {"auth_type": "oidc", "account": "x", "token_file": "nope"})
    assert code == 404 and "No such file" in err["error"]["message"]


def _jwt(claims: dict) -> str:
    def part(d: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


async def test_expired_oidc_token_is_401_with_a_message(api, jp_root_dir, embedded_lake):
    token = _jwt({"sub": embedded_lake.user, "exp": int(time.time()) - 60})
    SECRETS.add(token)
    (jp_root_dir / "expired.token").write_text(token + "\n\n")  # trailing whitespace is tolerated
    body = {"auth_type": "oidc", "account": embedded_lake.user, "token_file": "expired.token"}
    code, err = await api("PUT", f"{RJL}/credentials", body)
    assert code == 401 and "OIDC token expired at" in err["error"]["message"]
    # a token Rucio does not accept (not signed by its issuer): 401 from Rucio itself
    forged = _jwt({"sub": embedded_lake.user, "exp": int(time.time()) + 600})
    SECRETS.add(forged)
    os.environ["VRELAB_TEST_FORGED_TOKEN"] = forged
    try:
        body = {"auth_type": "oidc", "account": embedded_lake.user, "token_env": "VRELAB_TEST_FORGED_TOKEN"}
        code, err = await api("PUT", f"{RJL}/credentials", body)
    finally:
        del os.environ["VRELAB_TEST_FORGED_TOKEN"]
    assert code == 401 and "did not accept your credentials" in err["error"]["message"]


async def test_stopped_lake_is_503_with_a_clear_message(api):
    for method, path, body in [
        ("GET", f"{DEAD}/scopes", None),
        ("GET", f"{DEAD}/whoami", None),
        (
            "PUT",
            f"{DEAD}/credentials",
            {"auth_type": "userpass", "account": "nobody", "password": "dead-lake-password"},
        ),
    ]:
        code, err = await api(method, path, body)
        assert code == 503, (path, err)
        assert "cannot be reached" in err["error"]["message"] and "Traceback" not in json.dumps(err)


# ---------------------------------------------------------------- browse


async def test_search_types_filters_sort_and_paging(api):
    code, page = await api("GET", f"{EMB}/dids", pattern="ATLAS_OD_EDU:*", type="dataset")
    assert code == 200 and page["has_more"] is False and page["truncated"] is False
    datasets = {"ATLAS_OD_EDU:GamGam.data", "ATLAS_OD_EDU:GamGam.mc", "ATLAS_OD_EDU:4lep.data", "ATLAS_OD_EDU:4lep.mc"}
    assert {d["did"] for d in page["items"]} == datasets and {d["type"] for d in page["items"]} == {"DATASET"}
    # datasets carry the size and count of their files (Rucio's search records neither for open ones)
    assert all(d["bytes"] > 0 and d["length"] > 0 for d in page["items"]), page["items"]
    code, err = await api("GET", f"{EMB}/dids", pattern="NOSCOPE:*")
    assert code == 404 and "has no scope 'NOSCOPE'" in err["error"]["message"]
    code, page = await api("GET", f"{EMB}/dids", pattern="ATLAS_OD_EDU:no-such-*")
    assert code == 200 and page["items"] == []
    code, page = await api("GET", f"{EMB}/dids", pattern="ATLAS_OD_EDU:GamGam*", type="container")
    assert [d["did"] for d in page["items"]] == ["ATLAS_OD_EDU:GamGam"]
    code, page = await api("GET", f"{EMB}/dids", pattern="ATLAS_OD_EDU:*", type="collection")
    assert {d["type"] for d in page["items"]} == {"DATASET", "CONTAINER"}
    # metadata filters (the DID metadata plugin): by DSID, a comparison, and OR
    code, page = await api("GET", f"{EMB}/dids", pattern="ATLAS_OD_EDU:*", type="file", filters="dsid=343981")
    assert code == 200 and [d["did"] for d in page["items"]] == [MC_FILE]
    code, page = await api("GET", f"{EMB}/dids", pattern="ATLAS_OD_EDU:mc_*", type="file", filters="xsec>1")
    assert page["items"] and MC_FILE not in {d["did"] for d in page["items"]}  # 0.102 pb
    code, page = await api(
        "GET", f"{EMB}/dids", pattern="ATLAS_OD_EDU:*", type="file", filters="dsid=343981;dsid=345060"
    )
    assert len(page["items"]) == 2
    # paging: has_more instead of a silent cut, pages do not overlap, sorting holds across pages
    code, all_files = await api("GET", f"{EMB}/dids", pattern="ATLAS_OD_EDU:*", type="file", sort="-bytes")
    total = all_files["total"]
    assert total == len(all_files["items"]) > 10 and all_files["has_more"] is False
    seen: list[dict] = []
    for offset in range(0, total, 5):
        code, part = await api(
            "GET", f"{EMB}/dids", pattern="ATLAS_OD_EDU:*", type="file", sort="-bytes", limit="5", offset=str(offset)
        )
        assert code == 200 and part["has_more"] is (offset + 5 < total)
        seen += part["items"]
    assert [d["did"] for d in seen] == [d["did"] for d in all_files["items"]]
    sizes = [d["bytes"] for d in seen]
    assert sizes == sorted(sizes, reverse=True)
    code, first = await api("GET", f"{EMB}/dids", pattern="ATLAS_OD_EDU:*", type="file", limit="3")
    code, second = await api("GET", f"{EMB}/dids", pattern="ATLAS_OD_EDU:*", type="file", limit="3", offset="3")
    assert first["has_more"] and not {d["did"] for d in first["items"]} & {d["did"] for d in second["items"]}


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"pattern": "no-colon"}, "scope:name"),
        ({"pattern": "ATLAS_OD_EDU:bad name"}, "not a valid name pattern"),
        ({"pattern": "ATLAS_OD_EDU:*", "type": "album"}, "type must be one of"),
        ({"pattern": "ATLAS_OD_EDU:*", "filters": "dsid"}, "is not a filter"),
        ({"pattern": "ATLAS_OD_EDU:*", "filters": "dsid= "}, "is not a filter"),
        ({"pattern": "ATLAS_OD_EDU:*", "sort": "colour"}, "sort must be one of"),
        ({"pattern": "ATLAS_OD_EDU:*", "limit": "0"}, "'limit' must be between"),
        ({}, "pattern"),
    ],
)
async def test_search_refuses_bad_input(api, params, fragment):
    code, err = await api("GET", f"{EMB}/dids", **params)
    assert code == 400 and fragment in err["error"]["message"]


async def test_did_details_children_parents(api):
    code, did = await api("GET", f"{EMB}/dids/{MC_FILE}")
    assert code == 200 and did["type"] == "FILE" and did["bytes"] > 0
    assert len(did["checksums"]["adler32"]) == 8 and len(did["checksums"]["md5"]) == 32
    assert did["metadata"]["dsid"] == 343981 and did["metadata"]["xsec"] == pytest.approx(0.102)
    assert "adler32" not in did["metadata"]  # Rucio's own columns are not repeated as metadata
    code, container = await api("GET", f"{EMB}/dids/ATLAS_OD_EDU:GamGam")
    assert container["type"] == "CONTAINER" and container["length"] >= 3 and container["bytes"] > 0
    code, kids = await api("GET", f"{EMB}/dids/ATLAS_OD_EDU:GamGam/children")
    assert {k["did"] for k in kids["items"]} == {"ATLAS_OD_EDU:GamGam.data", "ATLAS_OD_EDU:GamGam.mc"}
    code, files = await api("GET", f"{EMB}/dids/ATLAS_OD_EDU:GamGam.mc/children", limit="2")
    assert len(files["items"]) == 2 and files["has_more"] and all(f["type"] == "FILE" for f in files["items"])
    code, parents = await api("GET", f"{EMB}/dids/{MC_FILE}/parents")
    assert {"did": "ATLAS_OD_EDU:GamGam.mc", "type": "DATASET"} in parents["items"]


async def test_replicas_per_rse_and_rules_of_a_did(api, embedded_lake):
    async def replicas():
        return (await api("GET", f"{EMB}/dids/ATLAS_OD_EDU:GamGam.mc/replicas"))[1]

    reps = await replicas()
    deadline = time.monotonic() + 120  # the seeded second copy on NAPOLI-DISK comes from the daemons
    while not {r["rse"]: r for r in reps["rses"]}.get("NAPOLI-DISK", {}).get("complete"):
        assert time.monotonic() < deadline, reps
        time.sleep(1)
        reps = await replicas()
    rses = {r["rse"]: r for r in reps["rses"]}
    assert rses["LAPP-DISK"]["complete"] and rses["LAPP-DISK"]["available"] == reps["files"] == len(reps["items"])
    assert rses["NAPOLI-DISK"]["states"] == {"AVAILABLE": reps["files"]}
    one = reps["items"][0]
    assert {r["rse"] for r in one["replicas"]} >= {"LAPP-DISK", "NAPOLI-DISK"}
    assert all(r["state"] == "AVAILABLE" and r["pfn"].startswith("file://") for r in one["replicas"])
    code, page = await api("GET", f"{EMB}/dids/ATLAS_OD_EDU:GamGam.mc/replicas", limit="1", offset="1")
    assert len(page["items"]) == 1 and page["items"][0]["did"] == reps["items"][1]["did"] and page["has_more"]
    code, rules = await api("GET", f"{EMB}/dids/ATLAS_OD_EDU:GamGam/rules")
    napoli = [r for r in rules["items"] if r["rse_expression"] == "NAPOLI-DISK"]
    assert napoli and napoli[0]["state"] == "OK" and napoli[0]["locks"]["ok"] > 0 and napoli[0]["account"] == "root"


async def test_unknown_and_malformed_dids(api):
    for suffix in ("", "/children", "/parents", "/replicas", "/rules"):
        code, err = await api("GET", f"{EMB}/dids/ATLAS_OD_EDU:no.such.file{suffix}")
        assert code == 404 and err["error"]["details"]["rucio_error"] == "DataIdentifierNotFound", suffix
        code, err = await api("GET", f"{EMB}/dids/nocolon{suffix}")
        assert code == 400 and "write it as scope:name" in err["error"]["message"], suffix
    for dotted in ("ATLAS_OD_EDU:.", "ATLAS_OD_EDU:..", "ATLAS_OD_EDU:a/../b"):  # not addressable in Rucio's paths
        for suffix in ("", "/parents", "/replicas"):
            code, err = await api("GET", f"{EMB}/dids/{dotted}{suffix}")
            assert code == 404, (dotted, suffix, err)
    code, err = await api("GET", f"{EMB}/dids/ATLAS_OD_EDU:bad name")
    assert code == 400 and "not a valid name" in err["error"]["message"]
    code, err = await api("GET", f"{EMB}/dids/this-scope-is-much-too-long-for-rucio:x")
    assert code == 400 and "not a valid scope" in err["error"]["message"]
    code, err = await api("GET", "lake/instances/nowhere/scopes")
    assert code == 404 and "No data-lake instance 'nowhere'" in err["error"]["message"]


async def test_rses_with_attributes_usage_and_quota(api):
    code, data = await api("GET", f"{EMB}/rses")
    assert code == 200
    rses = {r["rse"]: r for r in data["rses"]}
    assert set(rses) == {"LAPP-DISK", "NAPOLI-DISK", "LAPP-SCRATCHDISK"}
    assert rses["NAPOLI-DISK"]["quota"]["limit_bytes"] == 5 * 1024**3 and rses["NAPOLI-DISK"]["availability"]["write"]
    code, data = await api("GET", f"{EMB}/rses", expression="type=DATADISK")
    assert {r["rse"] for r in data["rses"]} == {"LAPP-DISK", "NAPOLI-DISK"}
    code, data = await api("GET", f"{EMB}/rses", expression="(tier<3)\\LAPP-DISK")
    assert {r["rse"] for r in data["rses"]} == {"NAPOLI-DISK", "LAPP-SCRATCHDISK"}
    code, err = await api("GET", f"{EMB}/rses", expression="NOWHERE-DISK")
    assert code == 404 and "No storage element" in err["error"]["message"]
    code, err = await api("GET", f"{EMB}/rses", expression="LAPP-DISK|")
    assert code == 400
    code, rse = await api("GET", f"{EMB}/rses/NAPOLI-DISK")
    assert code == 200 and rse["attributes"]["type"] == "DATADISK" and rse["attributes"]["site"] == "NAPOLI"
    assert rse["protocols"][0]["scheme"] == "file"
    rucio_usage = next(u for u in rse["usage"] if u["source"] == "rucio")
    assert rucio_usage["used_bytes"] >= 0 and rse["quota"]["limit_bytes"] == 5 * 1024**3
    code, err = await api("GET", f"{EMB}/rses/NOWHERE-DISK")
    assert code == 404 and err["error"]["details"]["rucio_error"] == "RSENotFound"


# ---------------------------------------------------------------- rules


async def test_make_available_replicates_for_real_then_duplicate_list_and_delete(api, lake_sandbox, embedded_lake):
    sandbox = lake_sandbox
    path = sandbox.make_file(size=4096)
    sandbox.upload(path)
    did = f"{sandbox.scope}:{path.name}"
    body = {"did": did, "rse_expression": "NAPOLI-DISK", "lifetime_days": 1, "comment": "vrelab test"}
    code, rule = await api("POST", f"{EMB}/rules", body)
    assert code == 201, rule
    assert rule["state"] in ("REPLICATING", "OK") and rule["account"] == embedded_lake.user and rule["copies"] == 1
    assert _iso(rule["expires_at"]) - dt.datetime.now(dt.UTC) > dt.timedelta(hours=23)
    states = [rule["state"]]
    deadline = time.monotonic() + 120
    while rule["state"] != "OK":
        assert time.monotonic() < deadline, states
        time.sleep(1)
        code, rule = await api("GET", f"{EMB}/rules/{rule['id']}")
        states.append(rule["state"])
    assert "REPLICATING" in states and rule["locks"] == {"ok": 1, "replicating": 0, "stuck": 0}
    copy = embedded_lake.replica_path("NAPOLI-DISK", sandbox.scope, path.name)
    assert copy is not None and copy.is_relative_to(embedded_lake.rse_roots["NAPOLI-DISK"])
    assert copy.read_bytes() == path.read_bytes()
    code, reps = await api("GET", f"{EMB}/dids/{did}/replicas")
    assert {r["rse"]: r["complete"] for r in reps["rses"]}["NAPOLI-DISK"]
    # the same rule again: 409 (the anchor answers DuplicateRule with HTTP 200)
    code, err = await api("POST", f"{EMB}/rules", body)
    assert code == 409 and err["error"]["details"]["rucio_error"] == "DuplicateRule"
    code, mine = await api("GET", f"{EMB}/rules", state="OK")
    assert rule["id"] in {r["id"] for r in mine["items"]} and all(r["state"] == "OK" for r in mine["items"])
    code, mine = await api("GET", f"{EMB}/rules")
    assert mine["total"] >= 2 and rule["id"] in {r["id"] for r in mine["items"]}  # + the sandbox's scratch rule
    code, deleted = await api("DELETE", f"{EMB}/rules/{rule['id']}")
    assert code == 202 and deleted["deleted"] is True and deleted["id"] == rule["id"]
    # Rucio deletes softly: the rule now expires within the hour, then its cleaner removes it
    assert _iso(deleted["expires_at"]) <= dt.datetime.now(dt.UTC) + dt.timedelta(hours=1, minutes=1)


async def test_make_available_uses_the_instance_defaults(api, lake_sandbox, embedded_lake):
    """The rucio-jupyterlab instance names destination_rse and a lifetime: make-available needs only the DID."""
    password = embedded_lake.password(embedded_lake.user)
    creds = {"auth_type": "userpass", "account": embedded_lake.user, "password": password}
    assert (await api("PUT", f"{RJL}/credentials", creds))[0] == 200
    path = lake_sandbox.make_file(size=1024)
    lake_sandbox.upload(path)
    code, rule = await api("POST", f"{RJL}/rules", {"did": f"{lake_sandbox.scope}:{path.name}"})
    assert code == 201 and rule["rse_expression"] == "NAPOLI-DISK"
    lifetime = _iso(rule["expires_at"]) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=1, hours=23) < lifetime <= dt.timedelta(days=2)
    assert rule["webui_url"] == f"https://webui.example.org/rule?rule_id={rule['id']}"
    assert (await api("DELETE", f"{RJL}/rules/{rule['id']}"))[0] == 202


async def test_rule_errors(api, embedded_lake):
    for body, fragment in [
        ({"did": "ATLAS_OD_EDU:GamGam.mc"}, "rse_expression is required"),
        ({"did": "x", "rse_expression": "NAPOLI-DISK"}, "scope:name"),
        ({"did": "ATLAS_OD_EDU:GamGam.mc", "rse_expression": "NAPOLI-DISK", "copies": 0}, "copies"),
        ({"did": "ATLAS_OD_EDU:GamGam.mc", "rse_expression": "NAPOLI-DISK", "copies": True}, "copies"),
        ({"did": "ATLAS_OD_EDU:GamGam.mc", "rse_expression": "NAPOLI-DISK", "lifetime_days": -1}, "lifetime"),
        ({"did": "ATLAS_OD_EDU:GamGam.mc", "rse_expression": "NAPOLI-DISK", "grouping": "SOME"}, "grouping"),
        ({"did": "ATLAS_OD_EDU:GamGam.mc", "rse_expression": "NAPOLI-DISK|"}, "not an RSE expression"),
        ({"did": "ATLAS_OD_EDU:GamGam.mc", "rse_expression": "NAPOLI-DISK", "urgent": True}, "Unknown field"),
    ]:
        code, err = await api("POST", f"{EMB}/rules", body)
        assert code == 400 and fragment in err["error"]["message"], (body, err)
    code, err = await api("POST", f"{EMB}/rules", {"did": "ATLAS_OD_EDU:GamGam.mc", "rse_expression": "NOWHERE-DISK"})
    assert code == 404 and "NOWHERE-DISK" in err["error"]["message"]
    code, err = await api("POST", f"{EMB}/rules", {"did": "ATLAS_OD_EDU:no.such", "rse_expression": "NAPOLI-DISK"})
    assert code == 404 and err["error"]["details"]["rucio_error"] == "DataIdentifierNotFound"
    code, err = await api("GET", f"{EMB}/rules/0123456789abcdef0123456789abcdef")
    assert code == 404 and err["error"]["details"]["rucio_error"] == "RuleNotFound"
    code, err = await api("GET", f"{EMB}/rules/not-a-rule-id")
    assert code == 400
    code, err = await api("GET", f"{EMB}/rules", state="HAPPY")
    assert code == 400 and "state must be one of" in err["error"]["message"]
    # someone else's rule (root's second copy of the samples) cannot be deleted by the user
    code, rules = await api("GET", f"{EMB}/dids/ATLAS_OD_EDU:GamGam/rules")
    roots = [r for r in rules["items"] if r["account"] == "root"]
    code, err = await api("DELETE", f"{EMB}/rules/{roots[0]['id']}")
    assert code == 403 and "only your own rules" in err["error"]["message"]


async def test_quota_exceeded_is_409_with_a_message(api, lake_sandbox, embedded_lake):
    embedded_lake.client("root").set_local_account_limit(embedded_lake.user, "LAPP-DISK", 1)
    try:
        path = lake_sandbox.make_file(size=2048)
        lake_sandbox.upload(path)
        body = {"did": f"{lake_sandbox.scope}:{path.name}", "rse_expression": "LAPP-DISK"}
        code, err = await api("POST", f"{EMB}/rules", body)
        assert code == 409 and err["error"]["details"]["rucio_error"] == "InsufficientAccountLimit"
        assert "quota" in err["error"]["message"].lower()
    finally:
        embedded_lake.client("root").set_local_account_limit(embedded_lake.user, "LAPP-DISK", 5 * 1024**3)


# ---------------------------------------------------------------- x509 and OIDC (a lake with --auth-extras)


@pytest.fixture(scope="module")
def auth_lake(tmp_path_factory):
    """A second, unseeded lake with an HTTPS endpoint (client certificates) and an OIDC issuer."""
    from vrelab.lakeserver import LakeServer
    from vrelab.lakeserver.processes import free_port as free_block

    home = tmp_path_factory.mktemp("auth-lake")
    server = LakeServer(home=home, port=free_block(also_free=(3, 9)), auth_extras=True)
    info = server.up(seed=False)
    try:
        yield server, info
    finally:
        server.down()


@pytest.mark.slow
async def test_x509_proxy_and_oidc_logins(api, auth_lake, jp_root_dir, data_dir):
    server, info = auth_lake
    certs = info.home / "certs"
    cert, key = (certs / f"{info.user}.pem").read_text(), (certs / f"{info.user}.key").read_text()
    SECRETS.add(key.split("-----")[2].strip()[:64])  # the key's base64 body
    (jp_root_dir / "usercert.pem").write_text(cert)
    (jp_root_dir / "userkey.pem").write_text(key)
    (jp_root_dir / "userkey.pem").chmod(0o600)
    (jp_root_dir / "x509up").write_text(cert + key)
    (jp_root_dir / "x509up").chmod(0o600)
    tls = "lake/instances/tls"
    # x509 from files in the user's home folder
    body = {"auth_type": "x509", "account": info.user, "certificate": "usercert.pem", "key": "userkey.pem"}
    code, saved = await api("PUT", f"{tls}/credentials", body)
    assert code == 200 and saved["certificate"] == "usercert.pem" and saved["token_expires_at"], saved
    assert (await api("GET", f"{tls}/whoami"))[1]["account"] == info.user
    # x509 pasted: stored as 0600 files in the credentials folder
    body = {"auth_type": "x509", "account": info.user, "certificate_pem": cert, "key_pem": key}
    code, saved = await api("PUT", f"{tls}/credentials", body)
    assert code == 200 and saved["certificate"] == saved["key"] == "pasted"
    stored = data_dir / "lake-credentials" / "tls"
    assert (stored / "key.pem").stat().st_mode & 0o777 == 0o600 and (stored / "key.pem").read_text() == key
    assert key not in (stored / "credentials.json").read_text()
    assert (await api("GET", f"{tls}/scopes"))[0] == 200
    # x509 proxy (certificate and key in one file)
    code, saved = await api("PUT", f"{tls}/credentials", {"auth_type": "x509_proxy", "account": info.user,
                                                          "proxy": "x509up"})  # fmt: skip
    assert code == 200 and (await api("GET", f"{tls}/whoami"))[1]["auth_type"] == "x509_proxy"
    # a key whose permissions are too open, a wrong account, a wrong CA: clear answers
    (jp_root_dir / "userkey.pem").chmod(0o644)
    body = {"auth_type": "x509", "account": info.user, "certificate": "usercert.pem", "key": "userkey.pem"}
    code, err = await api("PUT", f"{tls}/credentials", body)
    assert code == 401 and "permissions" in err["error"]["message"]
    (jp_root_dir / "userkey.pem").chmod(0o600)
    code, err = await api("PUT", f"{tls}/credentials", {**body, "account": "root"})
    assert code == 401
    code, err = await api("PUT", "lake/instances/tls-noca/credentials", body)
    assert code == 502 and "ca_cert" in err["error"]["message"]
    # OIDC: a token from the lake's issuer, from a file (with a trailing newline) and from a variable
    token = server.oidc_token(lifetime=300)
    SECRETS.add(token)
    (jp_root_dir / "access.token").write_text(token + "\n")
    oidc = "lake/instances/oidc"
    code, saved = await api("PUT", f"{oidc}/credentials", {"auth_type": "oidc", "account": info.user,
                                                           "token_file": "access.token"})  # fmt: skip
    assert code == 200 and saved["token_source"] == "file:access.token"
    exp = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==="))["exp"]
    assert _iso(saved["token_expires_at"]) == dt.datetime.fromtimestamp(exp, dt.UTC)
    assert (await api("GET", f"{oidc}/whoami"))[1]["account"] == info.user
    # JupyterHub renews the file: the next call uses the new token
    short = server.oidc_token(lifetime=2)
    SECRETS.add(short)
    (jp_root_dir / "access.token").write_text(short)
    code, who = await api("GET", f"{oidc}/whoami")
    assert code == 200 and who["token_expires_at"] != saved["token_expires_at"]
    wait_for(lambda: time.time() > json.loads(base64.urlsafe_b64decode(short.split(".")[1] + "==="))["exp"],
             timeout=10, interval=0.5)  # fmt: skip
    code, err = await api("GET", f"{oidc}/scopes")
    assert code == 401 and "expired" in err["error"]["message"]
    os.environ["VRELAB_TEST_OIDC"] = token
    try:
        code, saved = await api("PUT", f"{oidc}/credentials", {"auth_type": "oidc", "account": info.user,
                                                               "token_env": "VRELAB_TEST_OIDC"})  # fmt: skip
        assert code == 200 and saved["token_source"] == "env:VRELAB_TEST_OIDC"
        assert (await api("GET", f"{oidc}/scopes"))[0] == 200
    finally:
        del os.environ["VRELAB_TEST_OIDC"]


# ---------------------------------------------------------------- last: nothing leaked


def test_no_secret_in_any_response_or_log_line():
    assert SEEN_BODIES and SEEN_LOGS and SECRETS
    assert any("X-Rucio-Password" in line for line in SEEN_LOGS), "rucio-clients' header log was not captured"
    for secret in SECRETS:
        assert not [b for b in SEEN_BODIES if secret in b], "a secret is in a response body"
        assert not [line for line in SEEN_LOGS if secret in line], "a secret is in a log line"

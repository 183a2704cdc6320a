"""The data lake without a server: instance configuration (both formats), credentials and their
store, DID and filter parsing, the contract's patterns, Rucio error mapping, secret redaction."""

from __future__ import annotations

import http.server
import json
import logging
import re
import threading
import time
from pathlib import Path

import pytest

from vrelab import errors
from vrelab.config import VRELab
from vrelab.lake import credentials as creds_mod
from vrelab.lake import dids, service
from vrelab.lake.credentials import CredentialStore, Resolver, parse
from vrelab.lake.errors import translate
from vrelab.lake.instances import InstanceRegistry, normalise
from vrelab.lake.session import RUCIO_LOG, SECRETS, jwt_expiry, read_oidc_token
from vrelab.openapi import load_spec

HOST = "https://rucio.example.org"


# ---------------------------------------------------------------- instances


def test_vrelab_format():
    inst = normalise({"name": "escape", "rucio_host": HOST + "/", "auth_host": "https://auth.example.org",
                      "ca_cert": "/ca.pem", "rule_lifetime_days": 7, "destination_rse": "X-DISK"})  # fmt: skip
    assert inst.rucio_host == HOST and inst.auth_host == "https://auth.example.org" and inst.vo == "def"
    assert inst.display_name == "escape" and inst.rule_lifetime_days == 7.0 and inst.destination_rse == "X-DISK"
    assert normalise({"name": "a", "rucio_host": HOST}).auth_host == HOST


def test_rucio_jupyterlab_format_is_accepted_as_it_is():
    raw = {
        "name": "atlas",
        "display_name": "ATLAS",
        "rucio_base_url": HOST,
        "rucio_auth_url": "https://auth.example.org",
        "rucio_webui_url": "https://ui.example.org",
        "rucio_ca_cert": "/etc/ca.pem",
        "site_name": "CERN",
        "vo": "atlas",
        "app_id": "x",
        "mode": "replica",
        "destination_rse": "CERN-PROD",
        "rse_mount_path": "/eos/rucio",
        "path_begins_at": 4,
        "replication_rule_lifetime_days": 365,
        "wildcard_enabled": True,
        "oidc_auth": "env",
        "oidc_env_name": "ACCESS_TOKEN",
        "oidc_file_name": "/tmp/ignored",
        "voms_enabled": False,
    }
    warnings: list[str] = []
    inst = normalise(raw, warn=warnings.append)
    assert warnings == []
    assert (inst.rucio_host, inst.auth_host, inst.ca_cert, inst.vo) == (HOST, "https://auth.example.org", "/etc/ca.pem",
                                                                        "atlas")  # fmt: skip
    assert inst.webui_url == "https://ui.example.org" and inst.site_name == "CERN" and inst.display_name == "ATLAS"
    assert inst.destination_rse == "CERN-PROD" and inst.rule_lifetime_days == 365
    assert inst.oidc_token_env == "ACCESS_TOKEN" and inst.oidc_token_file is None  # oidc_auth = env
    assert normalise({**raw, "oidc_auth": "file"}).oidc_token_file == "/tmp/ignored"


def test_registry_merges_vrelab_and_rucio_config_sections():
    rucio_config = {
        "instances": [{"name": "rjl", "rucio_base_url": HOST}],
        "default_instance": "rjl",
        "default_auth_type": "oidc",
    }
    reg = InstanceRegistry([{"name": "own", "rucio_host": HOST}], rucio_config=rucio_config)
    assert [i.name for i in reg.all()] == ["own", "rjl"] and reg.default == "rjl"
    assert reg.get("rjl").default_auth_type == "oidc" and reg.get("own").default_auth_type == "oidc"
    assert InstanceRegistry([{"name": "own", "rucio_host": HOST}], "own", rucio_config=rucio_config).default == "own"
    with pytest.raises(errors.NotFound, match="known: own, rjl"):
        reg.get("nope")


@pytest.mark.parametrize(
    "entries, default, message",
    [
        ([{"name": "a b", "rucio_host": HOST}], "", "must be 1-64"),
        ([{"name": "a"}], "", "rucio_host .* is required"),
        ([{"name": "a", "rucio_host": "ftp://x"}], "", "must be an http"),
        ([{"name": "a", "rucio_host": HOST}, {"name": "a", "rucio_host": HOST}], "", "configured twice"),
        ([{"name": "a", "rucio_host": HOST}], "b", "not a configured instance"),
        ([{"name": "a", "rucio_host": HOST, "rule_lifetime_days": 0}], "", "positive"),
        ([{"name": "a", "rucio_host": HOST, "auth": "secret"}], "", "'auth' must be a dict"),
        ([{"name": "a", "rucio_host": HOST, "rucio_base_url": "https://other"}], "", "different value"),
    ],
)
def test_registry_refuses_broken_entries(entries, default, message):
    with pytest.raises(ValueError, match=message):
        InstanceRegistry(entries, default)


def test_unknown_keys_are_reported_not_fatal():
    warnings: list[str] = []
    normalise({"name": "a", "rucio_host": HOST, "colour": "red"}, warn=warnings.append)
    assert warnings == ["data-lake instance 'a': unknown key 'colour' ignored"]


def test_remote_configuration_by_url_local_keys_win():
    remote = {"rucio_base_url": HOST, "vo": "remote", "display_name": "not used", "destination_rse": "R-DISK"}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(remote).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/config.json"
        reg = InstanceRegistry([{"name": "r", "display_name": "Local", "vo": "local", "$url": url}])
    finally:
        httpd.shutdown()
    inst = reg.get("r")
    assert (inst.rucio_host, inst.vo, inst.display_name, inst.destination_rse) == (HOST, "local", "Local", "R-DISK")
    with pytest.raises(ValueError, match="cannot read the remote"):
        InstanceRegistry([{"name": "r", "$url": url}])


def test_instances_from_the_environment(monkeypatch):
    monkeypatch.setenv("VRELAB_LAKE_INSTANCES", json.dumps([{"name": "env", "rucio_base_url": HOST}]))
    monkeypatch.setenv("VRELAB_LAKE_TIMEOUT_SECONDS", "12.5")
    monkeypatch.setenv("VRELAB_LAKE_SCAN_LIMIT", "500")
    config = VRELab()
    assert InstanceRegistry(config.lake_instances).get("env").rucio_host == HOST
    assert config.lake_timeout_seconds == 12.5 and config.lake_scan_limit == 500
    with pytest.raises(Exception, match="above 0"):
        VRELab(lake_timeout_seconds=0)


# ---------------------------------------------------------------- credentials


@pytest.fixture
def inst():
    return normalise({"name": "lake", "rucio_host": HOST, "oidc_file_name": "/run/token", "oidc_auth": "file"})


@pytest.fixture
def home(tmp_path):
    root = tmp_path / "home"
    (root / ".globus").mkdir(parents=True)
    (root / ".globus" / "usercert.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    (root / ".globus" / "userkey.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    return root


def test_parse_userpass_x509_proxy_oidc(inst, home):
    resolve = Resolver(home, {"/run/token"})
    up = parse({"auth_type": "userpass", "account": "jdoe", "password": "s3cret!"}, inst, resolve).creds
    assert up.fields == {"username": "jdoe", "password": "s3cret!"}
    assert "s3cret" not in repr(up) and up.public() == {"auth_type": "userpass", "account": "jdoe", "username": "jdoe"}
    x = parse({"auth_type": "x509", "account": "jdoe", "certificate": ".globus/usercert.pem",
               "key": str(home / ".globus" / "userkey.pem")}, inst, resolve).creds  # fmt: skip
    assert x.fields["certificate"] == str(home / ".globus" / "usercert.pem")
    assert x.public() == {"auth_type": "x509", "account": "jdoe", "certificate": ".globus/usercert.pem",
                          "key": str(home / ".globus" / "userkey.pem")}  # fmt: skip
    pasted = parse({"auth_type": "x509_proxy", "account": "jdoe", "proxy_pem": "-----BEGIN X-----\n"}, inst, resolve)
    assert pasted.pems == {"proxy": "-----BEGIN X-----\n"} and pasted.creds.public()["proxy"] == "pasted"
    oidc = parse({"auth_type": "oidc", "account": "jdoe"}, inst, resolve).creds  # the instance's source
    assert oidc.fields["token_file"] == "/run/token" and oidc.public()["token_source"] == "file:/run/token"
    env = parse({"auth_type": "oidc", "account": "jdoe", "token_env": "ACCESS_TOKEN"}, inst, resolve).creds
    assert env.public()["token_source"] == "env:ACCESS_TOKEN"


@pytest.mark.parametrize(
    "body, error, message",
    [
        ({"auth_type": "x509", "account": "j", "certificate": "/etc/hostcert.pem", "key": "k"}, errors.Forbidden,
         "home folder"),
        ({"auth_type": "x509", "account": "j", "certificate": "../x", "key": "k"}, errors.Forbidden, "outside"),
        ({"auth_type": "x509", "account": "j", "certificate": "missing.pem", "key": "k"}, errors.NotFound, "No such"),
        ({"auth_type": "oidc", "account": "j", "token_file": "/etc/shadow"}, errors.Forbidden, "home folder"),
        ({"auth_type": "userpass", "account": "j", "password": "p", "password_file": "/x"}, errors.BadRequest,
         "Unknown field"),
    ],
)  # fmt: skip
def test_parse_refuses_files_outside_the_home_folder(inst, home, body, error, message):
    with pytest.raises(error, match=message):
        parse(body, inst, Resolver(home))


def test_operator_password_file(inst, tmp_path):
    (tmp_path / "pw").write_text("from-a-file\n")
    body = {"auth_type": "userpass", "account": "svc", "password_file": str(tmp_path / "pw")}
    assert parse(body, inst, Resolver(tmp_path, trusted=True)).creds.fields["password"] == "from-a-file"


def test_store_keeps_files_private_and_never_absolute_pem_paths(tmp_path, inst, home):
    store = CredentialStore(tmp_path / "creds")
    draft = parse({"auth_type": "x509", "account": "jdoe", "certificate_pem": "-----BEGIN C-----\n",
                   "key_pem": "-----BEGIN K-----\nSECRETKEY"}, inst, Resolver(home))  # fmt: skip
    staged, scratch = store.stage(draft)
    assert Path(staged.fields["key"]).read_text() == "-----BEGIN K-----\nSECRETKEY\n"
    assert Path(staged.fields["key"]).stat().st_mode & 0o777 == 0o600 and scratch.stat().st_mode & 0o777 == 0o700
    store.discard(scratch)
    assert not scratch.exists()
    saved = store.save("lake", draft)
    folder = tmp_path / "creds" / "lake"
    assert (tmp_path / "creds").stat().st_mode & 0o777 == 0o700 and folder.stat().st_mode & 0o777 == 0o700
    for f in folder.iterdir():
        assert f.stat().st_mode & 0o777 == 0o600
    record = json.loads((folder / "credentials.json").read_text())
    assert record["fields"]["key"] == "@key.pem" and "SECRETKEY" not in json.dumps(record)
    assert saved.fields["key"] == str(folder / "key.pem") and store.load("lake") == saved
    # replacing and deleting
    store.save("lake", parse({"auth_type": "userpass", "account": "jdoe", "password": "p"}, inst, Resolver(home)))
    assert not (folder / "key.pem").exists() and store.load("lake").auth_type == "userpass"
    assert store.delete("lake") and not store.delete("lake") and store.load("lake") is None
    (tmp_path / "creds" / ".pending-stale").mkdir()
    CredentialStore(tmp_path / "creds")
    assert not (tmp_path / "creds" / ".pending-stale").exists()


def _jwt(claims: dict) -> str:
    import base64

    part = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJSUzI1NiJ9.{part}.sig"


def test_oidc_token_sources_tolerate_trailing_whitespace(tmp_path, inst, home):
    token = _jwt({"exp": int(time.time()) + 60})
    (home / "tok").write_text(token + " \n\n")
    creds = parse({"auth_type": "oidc", "account": "j", "token_file": "tok"}, inst, Resolver(home)).creds
    assert read_oidc_token(creds) == token and jwt_expiry(token) == pytest.approx(time.time() + 60, abs=2)
    creds = parse({"auth_type": "oidc", "account": "j", "token_env": "TOK"}, inst, Resolver(home)).creds
    assert read_oidc_token(creds, {"TOK": token + "\n"}) == token
    with pytest.raises(errors.Unauthorized, match="holds no OIDC token"):
        read_oidc_token(creds, {})
    with pytest.raises(errors.Unauthorized, match="not a JWT"):
        read_oidc_token(creds, {"TOK": "opaque-token"})


# ---------------------------------------------------------------- DIDs, filters and the contract's patterns


def test_parse_did_and_filters():
    assert dids.parse_did("ATLAS_OD_EDU:GamGam.mc") == ("ATLAS_OD_EDU", "GamGam.mc")
    assert dids.parse_did("user.jdoe:a/b+c") == ("user.jdoe", "a/b+c")
    for bad in ("nocolon", ":x", "s:", "s:a b", "s:x\n", "a" * 26 + ":x", "s:a*"):
        with pytest.raises(errors.BadRequest):
            dids.parse_did(bad)
    assert dids.parse_did("s:GamGam*", pattern=True).name == "GamGam*"
    assert [dids.unaddressable(dids.parse_did(d)) for d in ("s:.", "..:x", "s:a/../b", "s:a.b", "s:.hidden")] == [
        True, True, True, False, False]  # fmt: skip
    assert dids.parse_filters("dsid=343981,events>=100;kind!=data,xsec<0.5") == [
        {"dsid": "343981", "events.gte": "100"},
        {"kind.ne": "data", "xsec.lt": "0.5"},
    ]
    assert dids.parse_filters("a<=") == [{"a.lt": "="}]  # the same reading as the contract's pattern
    for bad in ("dsid", "dsid=", "dsid= ", " dsid=1", "1a=2", "a=1,,b=2", "a=1;"):
        with pytest.raises(errors.BadRequest, match="is not a filter"):
            dids.parse_filters(bad)


def _schema(spec: dict, ref: str) -> dict:
    node = spec
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def test_the_contract_uses_the_servers_own_patterns():
    spec = load_spec()
    paths = spec["paths"]
    search = {p["name"]: p for p in paths["/lake/instances/{instance}/dids"]["get"]["parameters"] if "name" in p}
    assert search["pattern"]["schema"]["pattern"] == dids.DID_PATTERN_RE
    assert search["filters"]["schema"]["pattern"] == dids.FILTERS_RE
    assert search["filters"]["schema"]["maxLength"] == dids.MAX_FILTERS
    assert search["sort"]["schema"]["enum"] == list(dids.SORT_KEYS)
    assert search["type"]["schema"]["enum"] == list(dids.DID_TYPES)
    did_param = paths["/lake/instances/{instance}/dids/{did}"]["parameters"][1]
    assert did_param["schema"]["pattern"] == dids.DID_RE
    schemas = spec["components"]["schemas"]
    assert schemas["RSEExpression"]["pattern"] == service.RSE_EXPRESSION
    assert schemas["RSEExpression"]["maxLength"] == service.MAX_RSE_EXPRESSION
    assert schemas["RuleState"]["enum"] == list(service.RULE_STATES)
    rule_param = paths["/lake/instances/{instance}/rules/{rule_id}"]["parameters"][1]
    assert rule_param["schema"]["pattern"] == service.RULE_ID_RE.pattern
    rse_param = paths["/lake/instances/{instance}/rses/{rse}"]["parameters"][1]
    assert rse_param["schema"]["pattern"] == service.RSE_NAME_RE.pattern
    body = paths["/lake/instances/{instance}/rules"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == service.RULE_FIELDS
    assert body["properties"]["did"]["pattern"] == dids.DID_RE
    assert body["properties"]["copies"]["maximum"] == service.MAX_COPIES
    assert body["properties"]["lifetime_days"]["maximum"] == service.MAX_LIFETIME_DAYS
    # credentials: one variant per way of giving them, with the store's patterns and limits
    variants = schemas["LakeCredentialsIn"]["oneOf"]
    fields = {}
    for v in variants:
        kind = v["properties"]["auth_type"]["const"]
        assert set(v["properties"]) - {"auth_type", "account"} <= creds_mod.FIELDS[kind]
        for name, prop in v["properties"].items():
            fields[name] = _schema(spec, prop["$ref"]) if "$ref" in prop else prop
    assert fields["account"]["pattern"] == creds_mod.ACCOUNT_RE.pattern
    assert fields["password"]["pattern"] == creds_mod.HEADER_SAFE_RE.pattern
    assert fields["password"]["maxLength"] == creds_mod.MAX_PASSWORD
    assert fields["username"]["maxLength"] == creds_mod.MAX_USERNAME
    assert fields["token"]["pattern"] == creds_mod.JWT_RE.pattern
    assert fields["token"]["maxLength"] == creds_mod.MAX_SECRET
    assert fields["token_env"]["pattern"] == creds_mod.ENV_RE.pattern
    assert fields["certificate"]["pattern"] == creds_mod.PATH_RE.pattern
    assert fields["certificate"]["maxLength"] == creds_mod.MAX_PATH
    assert fields["key_pem"]["pattern"] == creds_mod.PEM_RE.pattern
    assert fields["key_pem"]["maxLength"] == creds_mod.MAX_PEM
    instance = paths["/lake/instances/{instance}/scopes"]["parameters"][0]
    from vrelab.lake.instances import NAME_RE

    assert instance["schema"]["pattern"] == NAME_RE.pattern


@pytest.mark.parametrize(
    "expression, valid",
    [
        ("NAPOLI-DISK", True),
        ("type=DATADISK", True),
        ("tier<3&type=DATADISK", True),
        ("(tier<3)\\LAPP-DISK", True),
        ("*\\LAPP-DISK", True),
        ("(*)|(LAPP-DISK&x=y)", True),
        ("-", False),
        ("((A))", False),
        ("A|", False),
        ("a=b=c", False),
        ("A B", False),
    ],
)
def test_rse_expressions_follow_rucios_grammar(expression, valid):
    assert bool(service.RSE_EXPRESSION_RE.fullmatch(expression)) is valid
    assert bool(re.fullmatch(load_spec()["components"]["schemas"]["RSEExpression"]["pattern"], expression)) is valid


# ---------------------------------------------------------------- Rucio errors, redaction


def test_rucio_errors_map_to_http_statuses():
    from requests.exceptions import ConnectionError as RequestsConnectionError
    from requests.exceptions import ReadTimeout, SSLError
    from rucio.common import exception as rx

    cases = [
        (rx.DataIdentifierNotFound("Data identifier 'a:b' not found"), errors.NotFound),
        (rx.RSENotFound("x"), errors.NotFound),
        (rx.RuleNotFound("x"), errors.NotFound),
        (rx.DuplicateRule("a rule exists"), errors.Conflict),
        (rx.InsufficientAccountLimit("x"), errors.Conflict),
        (rx.CannotAuthenticate("bad password"), errors.Unauthorized),
        (rx.AccessDenied("x"), errors.Forbidden),
        (rx.InvalidObject("x"), errors.BadRequest),
        (rx.InvalidRSEExpression("x"), errors.BadRequest),
        (rx.ServerConnectionException(), errors.Unavailable),
        (RequestsConnectionError("refused"), errors.Unavailable),
        (ReadTimeout("slow"), errors.Unavailable),
        (SSLError("certificate verify failed"), errors.UpstreamError),
        (SSLError("[SSL] PEM lib"), errors.Unauthorized),
        (rx.RucioException("no error information passed (http status code: 404)"), errors.NotFound),
        (rx.RucioException("no error information passed (http status code: 503)"), errors.Unavailable),
        (rx.RucioException("boom"), errors.UpstreamError),
    ]
    for exc, cls in cases:
        mapped = translate(exc, HOST)
        assert type(mapped) is cls, (exc, mapped)
        assert mapped.message and "Traceback" not in mapped.message
    assert translate(ValueError("a bug"), HOST) is None  # ours: a 500 with a reference, not a Rucio error
    detail = translate(rx.DataIdentifierNotFound("Data identifier 'a:b' not found"), HOST)
    assert detail.message == "Data identifier 'a:b' not found" and detail.details == {
        "rucio_error": "DataIdentifierNotFound"
    }


def test_secrets_are_redacted_from_rucio_client_logs(caplog):
    SECRETS.add("hunter2-very-secret")
    with caplog.at_level(logging.DEBUG, logger=RUCIO_LOG.name):
        RUCIO_LOG.debug("HTTP header:  %s: %s", "X-Rucio-Password", "anything")
        RUCIO_LOG.debug("HTTP header:  X-Rucio-Auth-Token: abc.def.ghi")
        RUCIO_LOG.error("failed with hunter2-very-secret inside")
    text = caplog.text
    assert "anything" not in text and "abc.def.ghi" not in text and "hunter2-very-secret" not in text
    assert text.count("[hidden]") == 3


def test_every_filter_the_contract_allows_is_parsed():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.from_regex(dids.FILTERS_RE, fullmatch=True).filter(lambda s: len(s) <= dids.MAX_FILTERS))
    def check(text: str) -> None:
        assert dids.parse_filters(text)

    check()

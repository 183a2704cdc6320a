"""Fill the embedded lake through its REST API as root (server venv only).

    RUCIO_CONFIG=<home>/etc/rucio-root.cfg python populate.py topology SPEC.json
    RUCIO_CONFIG=<home>/etc/rucio-root.cfg python populate.py samples MANIFEST.json
    RUCIO_CONFIG=<home>/etc/rucio-root.cfg python populate.py identities SPEC.json
    RUCIO_CONFIG=<home>/etc/rucio-root.cfg python populate.py course MANIFEST.json

``topology``: RSEs (POSIX, file://) with protocols, attributes, limits and distances, the user
account with its userpass identity, quotas, scopes. ``samples``: upload the sample files, group
them into datasets and containers, set their metadata, add the replication rules. ``course``:
the course scope and the teacher's files in its dataset (as ``rucio upload`` would). All are
idempotent: what exists already is kept. JSON specs are written by vrelab (``vrelab.lakeserver``).
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from pathlib import Path
from typing import Any

from _common import fail, short

LOG = logging.getLogger("vrelab.lake.populate")


def _client() -> Any:
    from rucio.client import Client

    try:
        return Client()
    except Exception as exc:
        fail(f"cannot log in to the lake as root: {short(exc)}")


def _ignore_duplicate(call: Any, *args: Any, **kwargs: Any) -> Any:
    from rucio.common.exception import Duplicate, DuplicateRule, RSEProtocolPriorityError

    try:
        return call(*args, **kwargs)
    except (Duplicate, DuplicateRule, RSEProtocolPriorityError):
        return None


def topology(spec: dict[str, Any]) -> None:
    client = _client()
    existing_rses = {r["rse"] for r in client.list_rses()}
    for rse in spec["rses"]:
        name, root = rse["name"], rse["root"]
        Path(root).mkdir(parents=True, exist_ok=True)
        if name not in existing_rses:
            client.add_rse(name, deterministic=True, rse_type="DISK", **rse.get("properties", {}))
            client.add_protocol(
                name,
                {
                    "scheme": "file",
                    "hostname": "localhost",
                    "port": 0,
                    "prefix": root.rstrip("/") + "/",
                    "impl": "rucio.rse.protocols.posix.Default",
                    "domains": {
                        "lan": {"read": 1, "write": 1, "delete": 1},
                        "wan": {
                            "read": 1,
                            "write": 1,
                            "delete": 1,
                            "third_party_copy_read": 1,
                            "third_party_copy_write": 1,
                        },
                    },
                },
            )
        for key, value in rse.get("attributes", {}).items():
            client.add_rse_attribute(name, key, value)
        client.set_rse_limits(name, "MinFreeSpace", 0)
        client.set_rse_usage(name, "storage", used=0, free=int(rse["capacity_bytes"]))
    names = [r["name"] for r in spec["rses"]]
    for src in names:
        for dst in names:
            if src != dst:
                _ignore_duplicate(client.add_distance, src, dst, {"distance": int(spec.get("distance", 1))})

    for account in spec["accounts"]:
        acc = account["name"]
        if acc != "root":
            _ignore_duplicate(client.add_account, acc, "USER", account["email"])
            password = Path(account["password_file"]).read_text().strip()
            _ignore_duplicate(
                client.add_identity,
                account=acc,
                identity=acc,
                authtype="USERPASS",
                email=account["email"],
                password=password,
                default=True,
            )
        for rse, limit in account.get("quotas", {}).items():
            client.set_local_account_limit(acc, rse, int(limit))
        for scope in account.get("scopes", []):
            _ignore_duplicate(client.add_scope, acc, scope)
    print(f"topology ready: {len(names)} RSEs, {len(spec['accounts'])} accounts")


def identities(spec: dict[str, Any]) -> None:
    """Map the auth-extras identities (x509 DN, OIDC subject) to the user account."""
    client = _client()
    account, email = spec["account"], spec["email"]
    for identity, authtype in ((spec.get("x509_dn"), "X509"), (spec.get("oidc"), "OIDC")):
        if identity:
            _ignore_duplicate(
                client.add_identity,
                account=account,
                identity=identity,
                authtype=authtype,
                email=email,
                default=True,
            )
    print(f"identities of {account}: x509 and OIDC")


def _existing_files(client: Any, scope: str, dataset: str) -> set[str]:
    from rucio.common.exception import DataIdentifierNotFound

    try:
        return {f["name"] for f in client.list_files(scope, dataset)}
    except DataIdentifierNotFound:
        return set()


def samples(manifest: dict[str, Any]) -> None:
    from rucio.client.uploadclient import UploadClient
    from rucio.common.exception import DataIdentifierNotFound

    client = _client()
    scope, rse = manifest["scope"], manifest["rse"]
    quiet = logging.getLogger("vrelab.lake.upload")
    quiet.setLevel(logging.WARNING)
    uploader = UploadClient(_client=client, logger=quiet)

    for dataset in manifest["datasets"]:
        present = _existing_files(client, scope, dataset["name"])
        items = [
            {
                "path": f["path"],
                "rse": rse,
                "did_scope": scope,
                "did_name": f["name"],
                "dataset_scope": scope,
                "dataset_name": dataset["name"],
            }
            for f in manifest["files"]
            if f["dataset"] == dataset["name"] and f["name"] not in present
        ]
        if items:
            uploader.upload(items)
        done = f"{len(items)} files uploaded, {len(present)} already there"
        print(f"{scope}:{dataset['name']}: {done}", flush=True)

    for container in manifest["containers"]:
        try:
            client.get_did(scope, container["name"])
        except DataIdentifierNotFound:
            client.add_container(scope, container["name"])
        attached = {d["name"] for d in client.list_content(scope, container["name"])}
        missing = [{"scope": scope, "name": n} for n in container["datasets"] if n not in attached]
        if missing:
            client.attach_dids(scope, container["name"], missing)

    for did in [*manifest["containers"], *manifest["datasets"], *manifest["files"]]:
        if did.get("metadata"):
            client.set_metadata_bulk(scope, did["name"], did["metadata"])
    for container in manifest["containers"]:
        for target in manifest.get("replicate_to", []):
            _ignore_duplicate(
                client.add_replication_rule,
                [{"scope": scope, "name": container["name"]}],
                1,
                target,
                comment="vrelab sample data: second replica",
            )
    print(f"samples registered: {len(manifest['files'])} files", flush=True)


def course(manifest: dict[str, Any]) -> None:
    """The course scope, its dataset and the course files in it (those not there yet)."""
    from rucio.client.uploadclient import UploadClient

    client = _client()
    scope, dataset, rse = manifest["scope"], manifest["dataset"], manifest["rse"]
    _ignore_duplicate(client.add_scope, manifest["account"], scope)
    present = _existing_files(client, scope, dataset)
    quiet = logging.getLogger("vrelab.lake.upload")
    quiet.setLevel(logging.WARNING)
    items = [
        {
            "path": f["path"],
            "rse": rse,
            "did_scope": scope,
            "did_name": f["name"],
            "dataset_scope": scope,
            "dataset_name": dataset,
            "register_after_upload": True,
        }
        for f in manifest["files"]
        if f["name"] not in present
    ]
    if items:
        UploadClient(_client=client, logger=quiet).upload(items)
    if manifest.get("dataset_metadata"):
        client.set_metadata_bulk(scope, dataset, manifest["dataset_metadata"])
    for f in manifest["files"]:
        if f.get("metadata"):
            client.set_metadata_bulk(scope, f["name"], f["metadata"])
    print(f"{scope}:{dataset}: {len(items)} course files uploaded, {len(present)} already there", flush=True)


if __name__ == "__main__":
    commands = {"topology": topology, "samples": samples, "identities": identities, "course": course}
    if len(sys.argv) != 3 or sys.argv[1] not in commands:
        fail("usage: populate.py topology|samples|identities|course SPEC.json")
    data = json.loads(Path(sys.argv[2]).read_text())
    try:
        commands[sys.argv[1]](data)
    except SystemExit:
        raise
    except Exception as exc:
        traceback.print_exc()  # into the seed log; the user sees the one line below
        fail(f"populating the lake ({sys.argv[1]}) failed: {short(exc)}")

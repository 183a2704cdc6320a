"""The data lake from Python: ``Client().lake`` (one HTTP call per method, like the rest of Client).

    >>> lake = Client().lake
    >>> lake.search("ATLAS_OD_EDU:*", type="dataset")["items"]
    >>> rule = lake.make_available("ATLAS_OD_EDU:GamGam.mc", "NAPOLI-DISK", lifetime_days=7)
    >>> lake.wait_rule(rule["id"])["state"]
    'OK'
    >>> job = lake.download("ATLAS_OD_EDU:GamGam.data", dest="data/gamgam")   # waits, returns the job
    >>> [f["path"] for f in job["result"]["files"]]

Transfers are jobs of the server (``lake.download``, ``lake.upload``, ``lake.multiply``): with
``wait=True`` (the default) the call follows the job and returns its final record (raising the
job's error if it failed); ``on_progress(job)`` sees every progress event; ``wait=False`` returns
the queued job at once.

Every method takes ``instance=`` (default: the server's default instance). Errors come back as
:mod:`vrelab.errors` classes: ``NotFound`` for an unknown DID, ``Conflict`` for a duplicate rule...
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .. import errors
from .paths import server_path

if TYPE_CHECKING:
    from .api import Client

FINAL_RULE_STATES = {"OK", "STUCK", "SUSPENDED"}
Progress = Callable[[dict[str, Any]], None]


def raise_for_job(job: dict[str, Any]) -> dict[str, Any]:
    """A finished job's record if it succeeded; else its error as the matching vrelab error."""
    if job.get("state") == "succeeded":
        return job
    from .api import job_error

    raise job_error(job)


def _q(segment: str) -> str:
    """One path segment: a DID's ':' and '/' are sent percent-encoded."""
    return quote(segment, safe="")


class LakeAPI:
    """The ``lake/`` part of vrelab's REST API."""

    def __init__(self, client: Client):
        self._c = client
        self._default: str | None = None

    # ------------------------------------------------------------------ instances
    def instances(self) -> list[dict[str, Any]]:
        return self._c.get("lake/instances")["instances"]

    def default_instance(self) -> str:
        if self._default is None:
            listed = self.instances()
            if not listed:
                raise errors.NotFound("This vrelab server has no data-lake instance configured.")
            self._default = next((i["name"] for i in listed if i["default"]), listed[0]["name"])
        return self._default

    def _base(self, instance: str | None) -> str:
        return f"lake/instances/{_q(instance or self.default_instance())}"

    def login(self, auth_type: str = "userpass", *, instance: str | None = None, **fields: Any) -> dict[str, Any]:
        """Check credentials against Rucio and store them on the server, e.g.
        ``login(account="jdoe", password=...)``, ``login("x509", account=..., certificate="~/.globus/usercert.pem"
        relative to your home, key=...)``, ``login("oidc", account=..., token_file="token")``."""
        body = {"auth_type": auth_type, **{k: v for k, v in fields.items() if v is not None}}
        return self._c.request("PUT", f"{self._base(instance)}/credentials", json_body=body)

    def logout(self, *, instance: str | None = None) -> None:
        self._c.delete(f"{self._base(instance)}/credentials")

    def credentials(self, *, instance: str | None = None) -> dict[str, Any]:
        return self._c.get(f"{self._base(instance)}/credentials")

    def whoami(self, *, instance: str | None = None) -> dict[str, Any]:
        return self._c.get(f"{self._base(instance)}/whoami")

    # ------------------------------------------------------------------ browse
    def scopes(self, *, instance: str | None = None) -> list[str]:
        return self._c.get(f"{self._base(instance)}/scopes")["scopes"]

    def search(
        self,
        pattern: str,
        *,
        type: str = "all",
        filters: str | None = None,
        sort: str | None = None,
        limit: int = 50,
        offset: int = 0,
        instance: str | None = None,
    ) -> dict[str, Any]:
        """One page of DIDs: ``{"items", "has_more", "truncated", ...}``; filters as
        ``"dsid=343981,events>=100;kind=data"``."""
        return self._c.get(
            f"{self._base(instance)}/dids",
            pattern=pattern,
            type=type,
            filters=filters,
            sort=sort,
            limit=limit,
            offset=offset,
        )

    def search_all(self, pattern: str, *, page_size: int = 500, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every matching DID, page after page."""
        offset = 0
        while True:
            page = self.search(pattern, limit=page_size, offset=offset, **kwargs)
            yield from page["items"]
            if not page["has_more"]:
                return
            offset += page_size

    def did(self, did: str, *, instance: str | None = None) -> dict[str, Any]:
        return self._c.get(f"{self._base(instance)}/dids/{_q(did)}")

    def _did_page(self, did: str, what: str, instance: str | None, limit: int, offset: int) -> dict[str, Any]:
        return self._c.get(f"{self._base(instance)}/dids/{_q(did)}/{what}", limit=limit, offset=offset)

    def children(self, did: str, *, limit: int = 50, offset: int = 0, instance: str | None = None) -> dict[str, Any]:
        return self._did_page(did, "children", instance, limit, offset)

    def parents(self, did: str, *, limit: int = 50, offset: int = 0, instance: str | None = None) -> dict[str, Any]:
        return self._did_page(did, "parents", instance, limit, offset)

    def replicas(self, did: str, *, limit: int = 50, offset: int = 0, instance: str | None = None) -> dict[str, Any]:
        return self._did_page(did, "replicas", instance, limit, offset)

    def did_rules(self, did: str, *, limit: int = 50, offset: int = 0, instance: str | None = None) -> dict[str, Any]:
        return self._did_page(did, "rules", instance, limit, offset)

    def rses(self, expression: str | None = None, *, instance: str | None = None) -> list[dict[str, Any]]:
        return self._c.get(f"{self._base(instance)}/rses", expression=expression)["rses"]

    def rse(self, rse: str, *, instance: str | None = None) -> dict[str, Any]:
        return self._c.get(f"{self._base(instance)}/rses/{_q(rse)}")

    # ------------------------------------------------------------------ rules
    def rules(
        self, *, state: str | None = None, limit: int = 50, offset: int = 0, instance: str | None = None
    ) -> dict[str, Any]:
        return self._c.get(f"{self._base(instance)}/rules", state=state, limit=limit, offset=offset)

    def rule(self, rule_id: str, *, instance: str | None = None) -> dict[str, Any]:
        return self._c.get(f"{self._base(instance)}/rules/{_q(rule_id)}")

    def make_available(
        self,
        did: str,
        rse_expression: str | None = None,
        *,
        copies: int = 1,
        lifetime_days: float | None = None,
        comment: str | None = None,
        instance: str | None = None,
    ) -> dict[str, Any]:
        """A replication rule putting ``did`` on the RSE(s) (the instance's destination_rse when
        none is given). Raises ``Conflict`` if the same rule exists."""
        body: dict[str, Any] = {"did": did, "copies": copies}
        for key, value in (("rse_expression", rse_expression), ("lifetime_days", lifetime_days), ("comment", comment)):
            if value is not None:
                body[key] = value
        return self._c.post(f"{self._base(instance)}/rules", body)

    def delete_rule(self, rule_id: str, *, instance: str | None = None) -> dict[str, Any]:
        return self._c.delete(f"{self._base(instance)}/rules/{_q(rule_id)}")

    def watch_rule(
        self, rule_id: str, *, interval: float = 2.0, timeout: float | None = None, instance: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """The rule each time its state or lock counts change, until it is OK, STUCK or SUSPENDED."""
        deadline = None if timeout is None else time.monotonic() + timeout
        last: tuple[Any, ...] | None = None
        while True:
            rule = self.rule(rule_id, instance=instance)
            now = (rule["state"], rule["locks"]["ok"], rule["locks"]["replicating"], rule["locks"]["stuck"])
            if now != last:
                last = now
                yield rule
            if rule["state"] in FINAL_RULE_STATES:
                return
            if deadline is not None and time.monotonic() > deadline:
                raise errors.Unavailable(
                    f"Rule {rule_id} is still {rule['state']} after {timeout:.0f} s.", details={"rule": rule}
                )
            time.sleep(interval)

    def wait_rule(
        self,
        rule_id: str,
        *,
        timeout: float | None = None,
        on_change: Callable[[dict[str, Any]], None] | None = None,
        instance: str | None = None,
    ) -> dict[str, Any]:
        """Follow a rule until it is OK, STUCK or SUSPENDED; return it."""
        rule: dict[str, Any] = {}
        for rule in self.watch_rule(rule_id, timeout=timeout, instance=instance):
            if on_change is not None:
                on_change(rule)
        return rule

    # ------------------------------------------------------------------ transfers (jobs)
    def _job(self, kind: str, params: dict[str, Any], wait: bool, on_progress: Progress | None) -> dict[str, Any]:
        job = self._c.submit(kind, {k: v for k, v in params.items() if v is not None})
        if not wait:
            return job
        return raise_for_job(self._c.wait(job["id"], on_progress=on_progress))

    def download(
        self,
        dids: str | list[str],
        *,
        dest: str | None = None,
        rse: str | None = None,
        workers: int | None = None,
        prefer_local: bool | None = None,
        wait: bool = True,
        on_progress: Progress | None = None,
        instance: str | None = None,
    ) -> dict[str, Any]:
        """Download files, datasets or containers into ``dest`` (a folder of your Jupyter home,
        default ``data/<scope>``); files already there and verified are kept. The result lists
        every file with its ``path`` (in your home) and ``local_path`` (absolute)."""
        params = {
            "instance": instance,
            "dids": [dids] if isinstance(dids, str) else list(dids),
            "dest": dest,
            "rse": rse,
            "workers": workers,
            "prefer_local": prefer_local,
        }
        return self._job("lake.download", params, wait, on_progress)

    def upload(
        self,
        files: str | list[str],
        *,
        scope: str,
        rse: str,
        dataset: str | None = None,
        lifetime: int | None = None,
        wait: bool = True,
        on_progress: Progress | None = None,
        instance: str | None = None,
    ) -> dict[str, Any]:
        """Upload files of your Jupyter home (paths relative to it) into ``scope`` on ``rse``,
        optionally into ``dataset``, with a ``lifetime`` in seconds."""
        params = {
            "instance": instance,
            "files": [server_path(f) for f in ([files] if isinstance(files, str) else files)],
            "scope": scope,
            "rse": rse,
            "dataset": dataset,
            "lifetime": lifetime,
        }
        return self._job("lake.upload", params, wait, on_progress)

    def multiply(
        self,
        dataset: str,
        *,
        copies: int = 2,
        rse: str,
        replicate_to: str,
        lifetime: int | None = None,
        scope: str | None = None,
        name: str | None = None,
        tree: str | None = None,
        wait: bool = True,
        on_progress: Progress | None = None,
        instance: str | None = None,
    ) -> dict[str, Any]:
        """The data-multiplication exercise: merge the dataset's ROOT files, upload ``copies``
        copies into a new dataset (``scope``, default ``user.<account>``) on ``rse`` with a
        ``lifetime``, and replicate it to ``replicate_to``."""
        params = {
            "instance": instance,
            "dataset": dataset,
            "copies": copies,
            "rse": rse,
            "replicate_to": replicate_to,
            "lifetime": lifetime,
            "scope": scope,
            "name": name,
            "tree": tree,
        }
        return self._job("lake.multiply", params, wait, on_progress)

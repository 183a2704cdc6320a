"""``LakeService``: browse a Rucio data lake and act on it — for the REST handlers, jobs and tests.

Every method blocks (rucio-clients speaks HTTP synchronously): handlers call them in a thread.
Results are plain JSON-able dicts; Rucio's errors come out as :mod:`vrelab.errors`. Listings are
pages ``{"items", "limit", "offset", "has_more", "truncated"}``: ``has_more`` says there is more
after this page, ``truncated`` that a scan limit cut the results before sorting or counting —
never a silent cut.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import logging
import re
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ..errors import BadRequest, Forbidden, NotFound, Unauthorized, Unavailable, VRELabError
from ..metrics import Metrics
from ..times import iso_utc
from .credentials import Credentials, CredentialStore, Draft, Resolver, parse
from .dids import DID, check_sort, check_type, parse_did, parse_filters, unaddressable
from .errors import rucio_errors
from .instances import Instance, InstanceRegistry
from .session import DEFAULT_TIMEOUT, SECRETS, Session, diagnosed, ensure_client_config, reset_token_root

log = logging.getLogger("vrelab.lake")
T = TypeVar("T")

RULE_STATES = ("OK", "REPLICATING", "STUCK", "SUSPENDED", "WAITING_APPROVAL", "INJECT")
RULE_ID_RE = re.compile(r"^[0-9a-fA-F]{32}$")
RSE_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
# Rucio's RSE-expression grammar (rucio.core.rse_expression_parser), parentheses one level deep,
# so that an expression this accepts is never a syntax error for Rucio
_RSE_ATOM = r"(?:[A-Za-z0-9._-]+[=<>][A-Za-z0-9_-]+|[A-Za-z0-9]+(?:[_-][A-Za-z0-9]+)*|\*)"
_RSE_TERM = rf"(?:{_RSE_ATOM}|\({_RSE_ATOM}(?:[|&\\]{_RSE_ATOM})*\))"
RSE_EXPRESSION = rf"^{_RSE_TERM}(?:[|&\\]{_RSE_TERM})*$"
RSE_EXPRESSION_RE = re.compile(RSE_EXPRESSION)
MAX_RSE_EXPRESSION = 500
RULE_FIELDS = {"did", "rse_expression", "copies", "lifetime_days", "comment", "grouping"}
GROUPINGS = ("ALL", "DATASET", "NONE")
MAX_COPIES = 10
MAX_LIFETIME_DAYS = 36500


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return iso_utc(value, timespec="seconds")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "name") and type(value).__module__.startswith("rucio"):  # Rucio enums
        return value.name
    return value


def _epoch_iso(ts: float | None) -> str | None:
    return iso_utc(ts, timespec="seconds") if ts else None


def _upper(value: Any) -> str | None:
    value = getattr(value, "name", value)
    return str(value).upper() if value is not None else None


def _did(text: Any) -> DID:
    """A DID to look up: well formed (else 400), and one Rucio's REST paths can name (else 404)."""
    did = parse_did(text)
    if unaddressable(did):
        raise NotFound(f"Data identifier '{did}' not found.", details={"rucio_error": "DataIdentifierNotFound"})
    return did


def page(items: Iterable[T], limit: int, offset: int) -> tuple[list[T], bool]:
    """One page of an iterable, and whether there is more after it (reads one item past the page)."""
    rows = list(itertools.islice(items, offset, offset + limit + 1))
    return rows[:limit], len(rows) > limit


def _page_dict(items: list[Any], limit: int, offset: int, has_more: bool, truncated: bool = False) -> dict[str, Any]:
    return {"items": items, "limit": limit, "offset": offset, "has_more": has_more, "truncated": truncated}


class LakeService:
    """The data lake as vrelab's users see it: several Rucio instances, one identity per instance."""

    def __init__(
        self,
        instances: InstanceRegistry,
        data_dir: Path,
        root_dir: Path,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        scan_limit: int = 10_000,
        metrics: Metrics | None = None,
    ):
        self.instances = instances
        self.metrics = metrics or Metrics()
        self.data_dir = data_dir
        self.root_dir = root_dir
        self.timeout = timeout
        self.scan_limit = scan_limit
        self.store = CredentialStore(data_dir / "lake-credentials")
        self.token_root = data_dir / "lake-tokens"
        reset_token_root(self.token_root)
        written = ensure_client_config(data_dir)
        if written is not None:
            log.info("no rucio.cfg found: rucio-clients reads the empty %s", written)
        self._sessions: dict[str, tuple[str, Session]] = {}
        self._locks: dict[str, threading.Lock] = {i.name: threading.Lock() for i in instances.all()}
        self._lock = threading.Lock()
        # (instance, scope, name) -> (monotonic time, bytes, length): collection sizes for search pages
        self._sizes: dict[tuple[str, str, str], tuple[float, Any, Any]] = {}
        # the operator's identities (trusted: absolute paths allowed), checked for shape at start-up
        self._shared: dict[str, Credentials] = {}
        for inst in instances.all():
            if inst.shared_auth is None:
                continue
            try:
                draft = parse(inst.shared_auth, inst, Resolver(root_dir, trusted=True))
            except VRELabError as exc:
                raise ValueError(f"data-lake instance {inst.name!r}: its 'auth' is not usable: {exc.message}") from None
            if draft.pems:
                raise ValueError(f"data-lake instance {inst.name!r}: give file paths in 'auth', not PEM text")
            self._shared[inst.name] = draft.creds
            SECRETS.add(*draft.creds.secrets())

    # ------------------------------------------------------------------ identity
    def _resolver(self, inst: Instance) -> Resolver:
        allowed = {p for p in (inst.oidc_token_file,) if p}
        return Resolver(self.root_dir, allowed)

    def _credentials(self, inst: Instance) -> tuple[Credentials, str] | None:
        stored = self.store.load(inst.name)
        if stored is not None:
            return stored, "stored"
        if inst.name in self._shared:
            return self._shared[inst.name], "configured"
        return None

    def _fingerprint(self, creds: Credentials) -> str:
        return hashlib.sha256(json.dumps(creds._asdict(), sort_keys=True).encode()).hexdigest()

    def _drop(self, name: str) -> None:
        with self._lock:
            old = self._sessions.pop(name, None)
        if old is not None:
            old[1].close()

    def session(self, name: str) -> Session:
        """A logged-in session for the instance (made once, re-made when the credentials change)."""
        inst = self.instances.get(name)
        found = self._credentials(inst)
        if found is None:
            raise Unauthorized(
                f"You are not logged in to the data lake {inst.display_name!r}: store your credentials first "
                f"(PUT lake/instances/{inst.name}/credentials, or `vrelab lake login {inst.name}`).",
                details={"instance": inst.name},
            )
        creds = found[0]
        key = self._fingerprint(creds)
        with self._locks[inst.name]:
            cached = self._sessions.get(inst.name)
            if cached is not None and cached[0] == key:
                session = cached[1]
            else:
                session = Session(
                    inst, creds, self.token_root, timeout=self.timeout, observe=self.metrics.lake_observer(inst.name)
                )
                with self._lock:
                    old = self._sessions.get(inst.name)
                    self._sessions[inst.name] = (key, session)
                if old is not None:
                    old[1].close()
        with rucio_errors(inst.rucio_host, SECRETS.redact):
            session.refresh()
        return session

    @contextmanager
    def _rucio(self, name: str) -> Iterator[Session]:
        """``with self._rucio(name) as s:`` — a session, and Rucio's errors translated."""
        s = self.session(name)
        with diagnosed(s.instance, s.creds), rucio_errors(s.host, SECRETS.redact):
            yield s

    def rucio(self, name: str) -> Any:
        """``with lake.rucio(name) as s:`` — a logged-in session, Rucio's errors translated (for jobs)."""
        return self._rucio(name)

    def read_bytes(self, instance: str | None, did: str) -> bytes:
        """The content of one file of the lake (e.g. a likelihood for the fit service)."""
        from .jobs import read_file

        return read_file(self, instance, did)

    def job_kinds(self) -> list[Any]:
        """The transfer job kinds (``lake.download``, ``lake.upload``, ``lake.multiply``) bound to this
        service; the jobs find it again by its data folder (they run in this server process)."""
        from .jobs import job_kinds

        return job_kinds(self)

    def _identity(self, inst: Instance) -> dict[str, Any]:
        found = self._credentials(inst)
        if found is None:
            return {"logged_in": False, "source": None, "auth_type": None, "account": None}
        creds, source = found
        return {"logged_in": True, "source": source, "auth_type": creds.auth_type, "account": creds.account}

    def list_instances(self) -> list[dict[str, Any]]:
        """The configured instances and who you are on each (no network)."""
        return [
            {**inst.public(), "default": inst.name == self.instances.default, **self._identity(inst)}
            for inst in self.instances.all()
        ]

    def _token_expiry(self, name: str) -> str | None:
        with self._lock:
            cached = self._sessions.get(name)
        return _epoch_iso(cached[1].token_expires()) if cached else None

    def credentials(self, name: str) -> dict[str, Any]:
        """Which identity is used (never its secret) and, once logged in, when the token expires."""
        inst = self.instances.get(name)
        found = self._credentials(inst)
        if found is None:
            raise NotFound(f"No credentials for {inst.name!r}: none stored or configured.", details={"instance": name})
        creds, source = found
        return {"instance": inst.name, "source": source, **creds.public(), "token_expires_at": self._token_expiry(name)}

    def save_credentials(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """Check credentials against Rucio (401 when it refuses them), then store them (0600)."""
        inst = self.instances.get(name)
        draft: Draft = parse(body, inst, self._resolver(inst))
        SECRETS.add(*draft.creds.secrets(), *draft.pems.values())
        staged, scratch = self.store.stage(draft)
        try:
            check = Session(  # its own, empty token folder
                inst, staged, self.token_root, timeout=self.timeout, observe=self.metrics.lake_observer(inst.name)
            )
            try:
                who = check.whoami()
                expires = check.token_expires()
            finally:
                check.close()
        finally:
            self.store.discard(scratch)
        if who.get("account") != draft.creds.account:
            raise Unauthorized(
                f"These credentials log in as {who.get('account')!r}, not as {draft.creds.account!r}.",
                details={"instance": name},
            )
        self._drop(name)
        stored = self.store.save(inst.name, draft)
        log.info("data lake %s: credentials stored (%s, account %s)", name, stored.auth_type, stored.account)
        return {"instance": inst.name, "source": "stored", **stored.public(), "token_expires_at": _epoch_iso(expires)}

    def forget_credentials(self, name: str) -> None:
        inst = self.instances.get(name)
        if not self.store.delete(inst.name):
            raise NotFound(f"No credentials stored for {inst.name!r}.", details={"instance": name})
        self._drop(name)
        log.info("data lake %s: stored credentials removed", name)

    def whoami(self, name: str) -> dict[str, Any]:
        """The account Rucio sees (a real round trip), and when the token expires."""
        s = self.session(name)
        who = s.whoami()
        source = self._credentials(s.instance)
        return {
            **who,
            "instance": name,
            "auth_type": s.creds.auth_type,
            "source": source[1] if source else None,
            "token_expires_at": _epoch_iso(s.token_expires()),
        }

    # ------------------------------------------------------------------ browse
    def scopes(self, name: str) -> list[str]:
        with self._rucio(name) as s:
            return sorted(s.client.list_scopes())

    def search(
        self,
        name: str,
        pattern: str,
        *,
        did_type: str = "all",
        filters: str | None = None,
        sort: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> dict[str, Any]:
        """DIDs matching ``scope:name-pattern`` (``*`` wildcards) and metadata filters, one page."""
        did = parse_did(pattern, pattern=True, what="search pattern")
        check_type(did_type)
        sort = check_sort(sort)
        # a 'name=' filter replaces the pattern's name in its group
        groups = [{"name": did.name, **g} for g in parse_filters(filters)] or [{"name": did.name}]
        truncated = False
        total: int | None = None
        if did.scope in (".", ".."):  # no such scope can be named in Rucio's REST paths
            return _page_dict([], limit, offset, False) | {"total": 0}
        with self._rucio(name) as s:
            if sort:
                rows = list(s.client.vrelab_search_dids(did.scope, groups, did_type, self.scan_limit + 1))
                truncated = len(rows) > self.scan_limit
                rows = rows[: self.scan_limit]
                key, reverse = sort.lstrip("-"), sort.startswith("-")
                present = sorted((r for r in rows if r.get(key) is not None), key=lambda r: r[key], reverse=reverse)
                rows = present + [r for r in rows if r.get(key) is None]  # unknown sizes last either way
                total = None if truncated else len(rows)
                items, has_more = rows[offset : offset + limit], len(rows) > offset + limit
            else:
                found = s.client.vrelab_search_dids(did.scope, groups, did_type, offset + limit + 1)
                items, has_more = page(found, limit, offset)
            if not items and not offset:
                self._require_scope(s, did.scope)  # nothing found: a 404 if the scope is what is unknown
            self._collection_sizes(s, items)
        out = [
            {
                "did": f"{r['scope']}:{r['name']}",
                "scope": r["scope"],
                "name": r["name"],
                "type": _upper(r.get("did_type")),
                "bytes": r.get("bytes"),
                "length": r.get("length"),
            }
            for r in items
        ]
        result = _page_dict(out, limit, offset, has_more, truncated)
        result["total"] = total
        if sort:
            result["scan_limit"] = self.scan_limit
        return result

    # a search page sums the files of at most this many datasets/containers (one Rucio call each,
    # remembered for SIZES_SECONDS, so paging back and forth or a sidebar's repeated search is free)
    MAX_SIZED_COLLECTIONS = 100
    SIZES_SECONDS = 60.0
    MAX_SIZES_KEPT = 10_000

    def _collection_sizes(self, s: Session, rows: list[dict[str, Any]]) -> None:
        """Fill in the size and file count of the datasets and containers on a search page: Rucio's
        DID search records them only for closed datasets, so ask for each one's sum of files."""
        todo = [
            r
            for r in rows
            if _upper(r.get("did_type")) in ("DATASET", "CONTAINER")
            and (r.get("bytes") is None or r.get("length") is None)
        ]
        now = time.monotonic()
        for r in todo[: self.MAX_SIZED_COLLECTIONS]:
            key = (s.instance.name, r["scope"], r["name"])
            with self._lock:
                known = self._sizes.get(key)
            if known is not None and now - known[0] < self.SIZES_SECONDS:
                r["bytes"], r["length"] = known[1], known[2]
                continue
            try:
                info = s.client.get_did(r["scope"], r["name"], dynamic_depth="FILE")
            except Exception as exc:  # removed since the search, or a server refusing dynamic sizes
                log.info("data lake %s: no size for %s:%s: %s", s.instance.name, r["scope"], r["name"], exc)
                continue
            r["bytes"], r["length"] = info.get("bytes"), info.get("length")
            with self._lock:
                if len(self._sizes) >= self.MAX_SIZES_KEPT:
                    self._sizes.clear()
                self._sizes[key] = (now, r["bytes"], r["length"])

    def _require_scope(self, s: Session, scope: str) -> None:
        """404 naming ``scope`` when the instance has no such scope."""
        scopes = sorted(s.client.list_scopes())
        if scope in scopes:
            return
        shown = ", ".join(scopes[:10]) + (", ..." if len(scopes) > 10 else "")
        known = f" (its scopes: {shown})." if shown else "."
        raise NotFound(
            f"The data lake {s.instance.name!r} has no scope {scope!r}{known}",
            details={"scope": scope, "rucio_error": "ScopeNotFound"},
        )

    def require_dids(self, name: str, dids: Iterable[DID]) -> None:
        """404 for the first DID the instance does not know, naming its scope and name (for jobs,
        which check their DIDs when submitted rather than fail later). When the lake cannot be
        reached the check is skipped: the job is queued and reports that itself, resumably."""
        try:
            with self._rucio(name) as s:
                self._require_dids(s, dids)
        except Unavailable as exc:
            log.info("data lake %s: DIDs not checked at submission: %s", name, exc.message)

    def _require_dids(self, s: Session, dids: Iterable[DID]) -> None:
        for did in dids:
            try:
                with rucio_errors(s.host, SECRETS.redact):
                    s.client.get_did(did.scope, did.name)
            except NotFound:
                self._require_scope(s, did.scope)
                raise NotFound(
                    f"There is no DID {did.name!r} in scope {did.scope!r} of the data lake {s.instance.name!r}.",
                    details={"did": str(did), "rucio_error": "DataIdentifierNotFound"},
                ) from None

    def _webui(self, inst: Instance, path: str, **params: str) -> str | None:
        if not inst.webui_url:
            return None
        return f"{inst.webui_url}/{path}?{urllib.parse.urlencode(params)}"

    def did(self, name: str, did_text: str) -> dict[str, Any]:
        """A DID's details: type, size, file count, checksums, state and all its metadata."""
        did = _did(did_text)
        with self._rucio(name) as s:
            info = s.client.get_did(did.scope, did.name, dynamic_depth="FILE")
            columns = s.client.get_metadata(did.scope, did.name, plugin="DID_COLUMN")
            try:
                everything = s.client.get_metadata(did.scope, did.name, plugin="ALL")
            except Exception as exc:  # an instance whose metadata plugins fail: show the columns
                log.info("data lake %s: metadata plugins of %s failed: %s", name, did, type(exc).__name__)
                everything = columns
        custom = {k: v for k, v in everything.items() if k not in columns and v is not None}
        did_type = _upper(info.get("type"))
        return _jsonable(
            {
                "did": str(did),
                "scope": did.scope,
                "name": did.name,
                "type": did_type,
                "account": info.get("account"),
                "bytes": info.get("bytes"),
                "length": info.get("length") if did_type != "FILE" else None,
                "checksums": {"adler32": columns.get("adler32"), "md5": columns.get("md5")},
                "guid": columns.get("guid"),
                "open": info.get("open"),
                "monotonic": info.get("monotonic"),
                "availability": _upper(columns.get("availability")),
                "created_at": columns.get("created_at"),
                "updated_at": columns.get("updated_at"),
                "expires_at": info.get("expired_at") or columns.get("expired_at"),
                "events": columns.get("events"),
                "metadata": custom,
                "webui_url": self._webui(s.instance, "did", scope=did.scope, name=did.name),
            }
        )

    def children(self, name: str, did_text: str, *, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """What a container or dataset holds (one level down)."""
        did = _did(did_text)
        with self._rucio(name) as s:
            rows, has_more = page(s.client.list_content(did.scope, did.name), limit, offset)
        items = [
            {
                "did": f"{r['scope']}:{r['name']}",
                "type": _upper(r.get("type")),
                "bytes": r.get("bytes"),
                "adler32": r.get("adler32"),
                "md5": r.get("md5"),
            }
            for r in rows
        ]
        return _page_dict(items, limit, offset, has_more)

    def parents(self, name: str, did_text: str, *, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """The datasets and containers a DID is attached to."""
        did = _did(did_text)
        with self._rucio(name) as s:
            s.client.get_did(did.scope, did.name)  # 404 for an unknown DID, not an empty list
            rows, has_more = page(s.client.list_parent_dids(did.scope, did.name), limit, offset)
        items = [{"did": f"{r['scope']}:{r['name']}", "type": _upper(r.get("type"))} for r in rows]
        return _page_dict(items, limit, offset, has_more)

    def replicas(self, name: str, did_text: str, *, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """Per RSE, how many of the DID's files it holds and in which state; per file (one page),
        its replicas with their state."""
        did = _did(did_text)
        per_rse: dict[str, dict[str, Any]] = {}
        files: list[dict[str, Any]] = []
        scanned = 0
        with self._rucio(name) as s:
            s.client.get_did(did.scope, did.name)  # 404 for an unknown DID
            rows = s.client.list_replicas([did.as_dict()], all_states=True)
            for r in itertools.islice(rows, self.scan_limit + 1):
                scanned += 1
                if scanned > self.scan_limit:
                    break
                states = {rse: _upper(st) or "" for rse, st in (r.get("states") or {}).items()}
                pfns = r.get("rses") or {}
                for rse, st in states.items():
                    entry = per_rse.setdefault(rse, {"rse": rse, "files": 0, "bytes": 0, "states": {}})
                    entry["files"] += 1
                    entry["bytes"] += r.get("bytes") or 0
                    entry["states"][st] = entry["states"].get(st, 0) + 1
                if offset <= scanned - 1 < offset + limit:
                    files.append(
                        {
                            "did": f"{r['scope']}:{r['name']}",
                            "bytes": r.get("bytes"),
                            "adler32": r.get("adler32"),
                            "md5": r.get("md5"),
                            "replicas": [
                                {"rse": rse, "state": st, "pfn": (pfns.get(rse) or [None])[0]}
                                for rse, st in sorted(states.items())
                            ],
                        }
                    )
        truncated = scanned > self.scan_limit
        counted = min(scanned, self.scan_limit)
        for entry in per_rse.values():
            entry["available"] = entry["states"].get("AVAILABLE", 0)
            entry["complete"] = not truncated and entry["available"] == counted
        result = _page_dict(files, limit, offset, counted > offset + limit or truncated, truncated)
        rses = sorted(per_rse.values(), key=lambda e: e["rse"])
        result.update(did=str(did), files=counted if not truncated else None, rses=rses)
        return result

    def did_rules(self, name: str, did_text: str, *, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """The replication rules on a DID, whoever owns them."""
        did = _did(did_text)
        with self._rucio(name) as s:
            s.client.get_did(did.scope, did.name)
            rows, has_more = page(s.client.list_did_rules(did.scope, did.name), limit, offset)
            items = [self._rule(s.instance, r) for r in rows]
        return _page_dict(items, limit, offset, has_more)

    # ------------------------------------------------------------------ storage elements
    def rses(self, name: str, *, expression: str | None = None) -> dict[str, Any]:
        """The RSEs (optionally those matching an RSE expression), with your quota and usage on each."""
        if expression is not None and (
            len(expression) > MAX_RSE_EXPRESSION or not RSE_EXPRESSION_RE.fullmatch(expression)
        ):
            raise BadRequest(f"{expression!r} is not an RSE expression (e.g. NAPOLI-DISK or type=DATADISK).")
        with self._rucio(name) as s:
            account = s.creds.account
            listed = list(s.client.list_rses())
            if expression:
                selected = {r["rse"] for r in self._expression_rses(s, expression)}
                listed = [r for r in listed if r["rse"] in selected]
            limits = s.client.get_local_account_limits(account)
            usage = {u["rse"]: u for u in s.client.get_local_account_usage(account)}
        items = []
        for r in sorted(listed, key=lambda r: r["rse"]):
            rse = r["rse"]
            items.append(
                {
                    "rse": rse,
                    "rse_type": _upper(r.get("rse_type")),
                    "deterministic": r.get("deterministic"),
                    "volatile": r.get("volatile"),
                    "availability": {
                        "read": r.get("availability_read"),
                        "write": r.get("availability_write"),
                        "delete": r.get("availability_delete"),
                    },
                    "location": {"city": r.get("city"), "country": r.get("country_name")},
                    "quota": self._quota(limits.get(rse), usage.get(rse)),
                }
            )
        return {"account": account, "rses": items}

    @staticmethod
    def _quota(limit: Any, usage: dict[str, Any] | None) -> dict[str, Any]:
        used = (usage or {}).get("bytes", 0) or 0
        limit = None if limit is None or limit == float("inf") or limit == -1 else limit
        return {
            "limit_bytes": limit,
            "used_bytes": used,
            "used_files": (usage or {}).get("files", 0) or 0,
            "remaining_bytes": max(limit - used, 0) if limit is not None else None,
        }

    def rse(self, name: str, rse: str) -> dict[str, Any]:
        """One RSE: its settings, attributes, protocols, storage usage and your quota on it."""
        if not RSE_NAME_RE.fullmatch(rse):
            raise BadRequest(f"{rse!r} is not an RSE name.")
        if rse in (".", ".."):
            raise NotFound(f"RSE '{rse}' cannot be found.", details={"rucio_error": "RSENotFound"})
        with self._rucio(name) as s:
            info = s.client.get_rse(rse)
            attributes = s.client.list_rse_attributes(rse)
            usage = list(s.client.get_rse_usage(rse))
            account = s.creds.account
            limit = s.client.get_local_account_limit(account, rse).get(rse)
            mine = next((u for u in s.client.get_local_account_usage(account, rse)), None)
        return _jsonable(
            {
                "rse": info["rse"],
                "rse_type": _upper(info.get("rse_type")),
                "deterministic": info.get("deterministic"),
                "volatile": info.get("volatile"),
                "staging_area": info.get("staging_area"),
                "availability": {
                    "read": info.get("availability_read"),
                    "write": info.get("availability_write"),
                    "delete": info.get("availability_delete"),
                },
                "attributes": attributes,
                "protocols": [
                    {k: p.get(k) for k in ("scheme", "hostname", "port", "prefix")} for p in info.get("protocols") or []
                ],
                "usage": [
                    {
                        "source": u.get("source"),
                        "used_bytes": u.get("used"),
                        "free_bytes": u.get("free"),
                        "total_bytes": u.get("total"),
                        "files": u.get("files"),
                        "updated_at": u.get("updated_at"),
                    }
                    for u in usage
                ],
                "account": account,
                "quota": self._quota(limit, mine),
            }
        )

    # ------------------------------------------------------------------ rules
    def _rule(self, inst: Instance, r: dict[str, Any]) -> dict[str, Any]:
        return _jsonable(
            {
                "id": r.get("id"),
                "did": f"{r.get('scope')}:{r.get('name')}",
                "did_type": _upper(r.get("did_type")),
                "account": r.get("account"),
                "rse_expression": r.get("rse_expression"),
                "copies": r.get("copies"),
                "state": _upper(r.get("state")),
                "locks": {
                    "ok": r.get("locks_ok_cnt", 0),
                    "replicating": r.get("locks_replicating_cnt", 0),
                    "stuck": r.get("locks_stuck_cnt", 0),
                },
                "grouping": _upper(r.get("grouping")),
                "activity": r.get("activity"),
                "comment": r.get("comments"),
                "error": r.get("error"),
                "created_at": r.get("created_at"),
                "updated_at": r.get("updated_at"),
                "expires_at": r.get("expires_at"),
                "stuck_at": r.get("stuck_at"),
                "webui_url": self._webui(inst, "rule", rule_id=str(r.get("id"))),
            }
        )

    def rules(self, name: str, *, state: str | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """Your replication rules (the account's), newest first, optionally in one state."""
        if state is not None and state not in RULE_STATES:
            raise BadRequest(f"state must be one of {', '.join(RULE_STATES)}, got {state!r}.")
        with self._rucio(name) as s:
            rows = [self._rule(s.instance, r) for r in s.client.list_account_rules(s.creds.account)]
        rows = [r for r in rows if state is None or r["state"] == state]
        rows.sort(key=lambda r: r["created_at"] or "", reverse=True)
        return _page_dict(rows[offset : offset + limit], limit, offset, len(rows) > offset + limit) | {
            "total": len(rows)
        }

    @staticmethod
    def _check_rule_id(rule_id: str) -> None:
        if not RULE_ID_RE.fullmatch(rule_id):
            raise BadRequest(f"{rule_id!r} is not a rule id (32 hexadecimal digits).")

    def rule(self, name: str, rule_id: str) -> dict[str, Any]:
        self._check_rule_id(rule_id)
        with self._rucio(name) as s:
            return self._rule(s.instance, s.client.get_replication_rule(rule_id))

    def _expression_rses(self, s: Session, expression: str) -> list[dict[str, Any]]:
        try:
            with rucio_errors(s.host, SECRETS.redact):
                return list(s.client.list_rses(expression))
        except BadRequest as exc:
            raise self._rse_expression_error(expression, exc) from None

    @staticmethod
    def _rse_expression_error(expression: str, exc: VRELabError) -> VRELabError:
        if exc.details.get("rucio_error") == "InvalidRSEExpression" and "empty set" in exc.message:
            return NotFound(
                f"No storage element (RSE) matches {expression!r}; GET rses lists them.", details=exc.details
            )
        return BadRequest(f"{expression!r} is not a valid RSE expression: {exc.message}", details=exc.details)

    def add_rule(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """Make data available on an RSE: a replication rule (409 when the same rule exists)."""
        inst = self.instances.get(name)
        unknown = set(body) - RULE_FIELDS
        if unknown:
            raise BadRequest(f"Unknown field(s): {', '.join(sorted(map(str, unknown)))}.",
                             details={"allowed": sorted(RULE_FIELDS)})  # fmt: skip
        did = _did(body.get("did"))
        expression = body.get("rse_expression") or inst.destination_rse
        if not expression:
            raise BadRequest("rse_expression is required (e.g. NAPOLI-DISK): this instance names no default RSE.")
        if (
            not isinstance(expression, str)
            or len(expression) > MAX_RSE_EXPRESSION
            or not RSE_EXPRESSION_RE.fullmatch(expression)
        ):
            raise BadRequest(f"{expression!r} is not an RSE expression (e.g. NAPOLI-DISK or type=DATADISK).")
        copies = body.get("copies", 1)
        if isinstance(copies, float) and copies.is_integer():  # JSON's 2.0 is the integer 2
            copies = int(copies)
        if isinstance(copies, bool) or not isinstance(copies, int) or not 1 <= copies <= MAX_COPIES:
            raise BadRequest(f"copies must be an integer from 1 to {MAX_COPIES}.")
        days = body.get("lifetime_days", inst.rule_lifetime_days)
        if days is not None and (
            isinstance(days, bool) or not isinstance(days, int | float) or not 0 < days <= MAX_LIFETIME_DAYS
        ):
            raise BadRequest(f"lifetime_days must be a number of days above 0 and at most {MAX_LIFETIME_DAYS}.")
        lifetime = max(1, round(days * 86400)) if days is not None else None
        comment = body.get("comment")
        if comment is not None and (not isinstance(comment, str) or len(comment) > 250):
            raise BadRequest("comment must be a string of at most 250 characters.")
        grouping = body.get("grouping", "DATASET")
        if grouping not in GROUPINGS:
            raise BadRequest(f"grouping must be one of {', '.join(GROUPINGS)}.")
        with self._rucio(name) as s:
            try:
                with rucio_errors(s.host, SECRETS.redact):
                    ids = s.client.add_replication_rule(
                        [did.as_dict()],
                        copies,
                        expression,
                        lifetime=lifetime,
                        grouping=grouping,
                        account=s.creds.account,
                        comment=comment,
                    )
            except BadRequest as exc:
                if exc.details.get("rucio_error") == "InvalidRSEExpression":
                    raise self._rse_expression_error(expression, exc) from None
                raise
            rule = self._rule(s.instance, s.client.get_replication_rule(ids[0]))
        log.info("data lake %s: rule %s on %s to %s", name, rule["id"], did, expression)
        return rule

    def delete_rule(self, name: str, rule_id: str) -> dict[str, Any]:
        """Delete one of your rules. Rucio removes its replicas later (soft deletion), unless other
        rules keep them."""
        self._check_rule_id(rule_id)
        with self._rucio(name) as s:
            before = self._rule(s.instance, s.client.get_replication_rule(rule_id))
            if before["account"] != s.creds.account:
                raise Forbidden(
                    f"Rule {rule_id} belongs to {before['account']!r}; you can delete only your own rules.",
                    details={"rule_id": rule_id},
                )
            s.client.delete_replication_rule(rule_id, purge_replicas=False)
            try:
                after = self._rule(s.instance, s.client.get_replication_rule(rule_id))
            except NotFound:
                after = {**before, "expires_at": iso_utc(timespec="seconds")}
        log.info("data lake %s: rule %s deleted", name, rule_id)
        return {**after, "deleted": True}

    def close(self) -> None:
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for _, session in sessions:
            session.close()

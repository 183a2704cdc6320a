"""``DataLakeBrowser``: browse a Rucio data lake and act on it from a notebook (ipywidgets only).

    >>> from vrelab.widgets import DataLakeBrowser
    >>> DataLakeBrowser()

Pick an instance (and log in if needed), search ``scope:pattern`` with a type filter and metadata
filters, page through the results, select one to see its metadata, files, replicas per RSE and
rules, then download it into your home, make it available on an RSE (with a lifetime) or upload
files of your home — each long action with a progress bar. Everything goes through
:class:`vrelab.client.Client`; errors show in a banner, never as a traceback.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from ..units import format_bytes
from .common import FULL, LABEL, ErrorBanner, JobProgress, sized, wrap_row

PAGE = 20
TYPES = ("all", "container", "dataset", "file", "collection")


def _table(rows: list[list[Any]], headers: list[str]) -> str:
    head = "".join(f"<th style='text-align:left;padding:2px 8px'>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td style='padding:2px 8px'>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table class='vrelab-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class DataLakeBrowser(widgets.VBox):
    """The data lake in a notebook. ``client``: a :class:`vrelab.client.Client` (default: found by itself)."""

    def __init__(self, client: Any = None, *, instance: str | None = None, page_size: int = PAGE):
        if client is None:
            from ..client import Client

            client = Client()
        self.client = client
        self.page_size = page_size
        self.offset = 0
        self.page: dict[str, Any] = {"items": [], "has_more": False}
        self.selected: dict[str, Any] | None = None
        self.jobs: list[JobProgress] = []
        self.error = ErrorBanner()
        self.info = ErrorBanner()
        # identity
        self.instance = widgets.Dropdown(description="Instance", style=LABEL, layout=sized("24em", grow=True))
        self.identity = widgets.HTML(layout=sized("16em", grow=True))
        self.account = widgets.Text(description="Account", style=LABEL, layout=sized("14em"))
        self.password = widgets.Password(description="Password", style=LABEL, layout=sized("14em"))
        self.login_button = widgets.Button(description="Log in", icon="sign-in")
        self.login_box = wrap_row(self.account, self.password, self.login_button)
        # search
        self.pattern = widgets.Text(
            description="DIDs",
            placeholder="scope:name*, e.g. ATLAS_OD_EDU:*",
            style=LABEL,
            layout=sized("22em", grow=True),
        )
        self.did_type = widgets.Dropdown(
            options=TYPES, value="all", description="Type", style=LABEL, layout=sized("12em")
        )
        self.filters = widgets.Text(
            description="Filters",
            placeholder="e.g. dsid=343981,events>=100",
            style=LABEL,
            layout=sized("20em", grow=True),
        )
        self.search_button = widgets.Button(description="Search", icon="search", button_style="primary")
        self.results = widgets.Select(options=[], rows=10, layout=sized(FULL))
        self.prev_button = widgets.Button(description="◀ Previous", disabled=True, layout=sized("auto"))
        self.next_button = widgets.Button(description="Next ▶", disabled=True, layout=sized("auto"))
        self.page_label = widgets.HTML()
        # details
        self.details = widgets.HTML()
        # actions
        self.dest = widgets.Text(
            placeholder="data/<scope>",
            description="Into folder",
            tooltip="A folder in your home (default data/<scope>)",
            style=LABEL,
            layout=sized("20em", grow=True),
        )
        self.download_button = widgets.Button(description="Download", icon="download", disabled=True)
        self.rse = widgets.Dropdown(description="RSE", style=LABEL, layout=sized("22em", grow=True))
        self.lifetime_days = widgets.BoundedFloatText(
            value=7, min=0, max=36500, description="Lifetime (days)", style=LABEL, layout=sized("14em")
        )
        self.available_button = widgets.Button(description="Make available", icon="copy", disabled=True)
        self.upload_files = widgets.Text(
            placeholder="a.root, b.root",
            description="Files",
            tooltip="Files in your home, comma-separated",
            style=LABEL,
            layout=sized("20em", grow=True),
        )
        self.upload_scope = widgets.Text(
            placeholder="user.<account>", description="Scope", style=LABEL, layout=sized("16em")
        )
        self.upload_rse = widgets.Dropdown(description="To RSE", style=LABEL, layout=sized("22em", grow=True))
        self.upload_dataset = widgets.Text(
            placeholder="(optional)", description="Dataset", style=LABEL, layout=sized("16em")
        )
        self.upload_lifetime = widgets.BoundedIntText(
            value=0,
            min=0,
            max=36500 * 86400,
            description="Lifetime (seconds, 0: none)",
            style=LABEL,
            layout=sized("18em"),
        )
        self.upload_button = widgets.Button(description="Upload", icon="upload")
        self.progress = widgets.VBox()
        actions = widgets.Tab(
            children=[
                wrap_row(self.dest, self.download_button),
                wrap_row(self.rse, self.lifetime_days, self.available_button),
                widgets.VBox(
                    [
                        wrap_row(self.upload_files, self.upload_scope),
                        wrap_row(self.upload_rse, self.upload_dataset),
                        wrap_row(self.upload_lifetime, self.upload_button),
                    ]
                ),
            ]
        )
        for i, title in enumerate(("Download", "Make available", "Upload")):
            actions.set_title(i, title)
        self.actions = actions
        super().__init__(
            children=[
                self.error,
                self.info,
                wrap_row(self.instance, self.identity),
                self.login_box,
                wrap_row(self.pattern, self.did_type, self.filters, self.search_button),
                self.results,
                wrap_row(self.prev_button, self.page_label, self.next_button),
                self.details,
                actions,
                self.progress,
            ]
        )
        self.login_button.on_click(lambda _: self.login())
        self.search_button.on_click(lambda _: self.search())
        self.pattern.on_submit(lambda _: self.search())
        self.next_button.on_click(lambda _: self.next_page())
        self.prev_button.on_click(lambda _: self.prev_page())
        self.results.observe(self._on_select, names="value")
        self.download_button.on_click(lambda _: self.download())
        self.available_button.on_click(lambda _: self.make_available())
        self.upload_button.on_click(lambda _: self.upload())
        self.instance.observe(lambda _: self.refresh_identity(), names="value")
        self._guard(self._load_instances, instance)

    # ------------------------------------------------------------------ plumbing
    def _guard(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run an action; its error goes to the banner (returns None then)."""
        self.error.clear()
        try:
            return fn(*args)
        except Exception as exc:  # every error is shown, none escapes as a traceback
            self.error.show(exc)
            return None

    @property
    def lake(self) -> Any:
        return self.client.lake

    def _name(self) -> str | None:
        return self.instance.value or None

    def _load_instances(self, preferred: str | None) -> None:
        listed = self.lake.instances()
        self._instances = {i["name"]: i for i in listed}
        self.instance.options = [(f"{i['display_name']} ({i['name']})", i["name"]) for i in listed]
        default = preferred or next((i["name"] for i in listed if i["default"]), listed[0]["name"] if listed else None)
        if default is not None:
            self.instance.value = default
        self.refresh_identity()

    def refresh_identity(self) -> None:
        def run() -> None:
            listed = {i["name"]: i for i in self.lake.instances()}
            me = listed.get(self._name() or "")
            if me is None:
                return
            if me["logged_in"]:
                self.identity.value = html.escape(f"logged in as {me['account']} ({me['auth_type']}, {me['source']})")
                self.login_box.layout.display = "none"
                self._load_rses()
                if not self.upload_scope.value:
                    self.upload_scope.value = f"user.{me['account']}"
            else:
                self.identity.value = "<b>not logged in</b>: give your account and password"
                self.login_box.layout.display = None

        self._guard(run)

    def _load_rses(self) -> None:
        names = [r["rse"] for r in self.lake.rses(instance=self._name())]
        self.rse.options = names
        self.upload_rse.options = names
        if self._instances.get(self._name() or "", {}).get("destination_rse") in names:
            self.rse.value = self._instances[self._name() or ""]["destination_rse"]
        scratch = [n for n in names if n.endswith("SCRATCHDISK")]
        if scratch:
            self.upload_rse.value = scratch[0]

    # ------------------------------------------------------------------ identity
    def login(self) -> dict[str, Any] | None:
        """Store the account/password on the server (checked by Rucio first)."""

        def run() -> dict[str, Any]:
            saved = self.lake.login(
                "userpass", account=self.account.value.strip(), password=self.password.value, instance=self._name()
            )
            self.password.value = ""
            self.info.show(f"Logged in to {saved['instance']} as {saved['account']}.", "success")
            self.refresh_identity()
            return saved

        return self._guard(run)

    # ------------------------------------------------------------------ search and paging
    def search(self, offset: int = 0) -> dict[str, Any] | None:
        def run() -> dict[str, Any]:
            page = self.lake.search(
                self.pattern.value.strip(),
                type=self.did_type.value,
                filters=self.filters.value.strip() or None,
                limit=self.page_size,
                offset=offset,
                instance=self._name(),
            )
            self.offset, self.page = offset, page
            # one scope is searched at a time (it is in the search box): each line names the DID in it
            self.results.options = [(self._result_label(r), r["did"]) for r in page["items"]]
            self.results.value = None
            self.prev_button.disabled = offset == 0
            self.next_button.disabled = not page["has_more"]
            shown = f"{offset + 1}–{offset + len(page['items'])}" if page["items"] else "no match"
            extra = " (sorted among the first matches only)" if page.get("truncated") else ""
            self.page_label.value = html.escape(f"{shown}{' · more' if page['has_more'] else ''}{extra}")
            return page

        return self._guard(run)

    @staticmethod
    def _result_label(item: dict[str, Any]) -> str:
        name = item["did"].partition(":")[2] or item["did"]
        return f"{name} · {(item['type'] or '?').lower()} · {format_bytes(item['bytes'])}"

    def next_page(self) -> dict[str, Any] | None:
        return self.search(self.offset + self.page_size) if self.page.get("has_more") else None

    def prev_page(self) -> dict[str, Any] | None:
        return self.search(max(0, self.offset - self.page_size)) if self.offset else None

    # ------------------------------------------------------------------ details
    def _on_select(self, change: dict[str, Any]) -> None:
        if change.get("new"):
            self.select(change["new"])

    def select(self, did: str) -> dict[str, Any] | None:
        """Show a DID's metadata, files, replicas per RSE and rules."""

        def run() -> dict[str, Any]:
            name = self._name()
            info = self.lake.did(did, instance=name)
            replicas = self.lake.replicas(did, limit=10, instance=name)
            rules = self.lake.did_rules(did, limit=20, instance=name)
            children = self.lake.children(did, limit=20, instance=name) if info["type"] != "FILE" else None
            self.selected = {"did": info, "replicas": replicas, "rules": rules, "children": children}
            self.details.value = self._render(self.selected)
            for button in (self.download_button, self.available_button):
                button.disabled = False
            return self.selected

        return self._guard(run)

    def _render(self, d: dict[str, Any]) -> str:
        info = d["did"]
        sums = info.get("checksums") or {}
        meta = [
            ["type", info["type"]],
            ["size", format_bytes(info.get("bytes"))],
            ["files", info.get("length") if info.get("length") is not None else 1],
            ["adler32 / md5", f"{sums.get('adler32') or '-'} / {sums.get('md5') or '-'}"],
            ["owner", info.get("account")],
            ["created", info.get("created_at")],
        ] + [[k, v] for k, v in sorted((info.get("metadata") or {}).items())]
        parts = [f"<h4>{html.escape(info['did'])}</h4>", _table(meta, ["", ""])]
        if d["children"] is not None:
            rows = [[c["did"], c["type"], format_bytes(c.get("bytes"))] for c in d["children"]["items"]]
            more = " (first 20)" if d["children"]["has_more"] else ""
            parts += [f"<h5>Contents{more}</h5>", _table(rows, ["DID", "TYPE", "SIZE"])]
        rows = [
            [r["rse"], f"{r['available']}/{r['files']}", ", ".join(f"{k} {v}" for k, v in r["states"].items())]
            for r in d["replicas"]["rses"]
        ]
        parts += ["<h5>Replicas per RSE</h5>", _table(rows, ["RSE", "AVAILABLE", "STATES"])]
        rows = [
            [r["rse_expression"], r["state"], r["account"], r["expires_at"] or "never", r["id"]]
            for r in d["rules"]["items"]
        ]
        parts += ["<h5>Rules</h5>", _table(rows, ["RSE EXPRESSION", "STATE", "ACCOUNT", "EXPIRES", "ID"])]
        return "".join(parts)

    # ------------------------------------------------------------------ actions
    def _follow(
        self, job: dict[str, Any], what: str, done: Callable[[dict[str, Any]], None] | None = None
    ) -> JobProgress:
        bar = JobProgress(self.client, job["id"], on_done=done, description=what)
        self.jobs.append(bar)
        self.progress.children = (*self.progress.children, bar)
        return bar

    def download(self) -> JobProgress | None:
        """Download the selected DID into the folder given (a job, with a progress bar)."""

        def run() -> JobProgress:
            if self.selected is None:
                raise ValueError("Select a DID first.")
            did = self.selected["did"]["did"]
            job = self.lake.download(did, dest=self.dest.value.strip() or None, wait=False, instance=self._name())

            def done(final: dict[str, Any]) -> None:
                if final["state"] == "succeeded":
                    c = final["result"]["counts"]
                    self.info.show(
                        f"{did}: {c['downloaded']} file(s) downloaded, {c['present']} already there, "
                        f"in {final['result']['dest']}.",
                        "success",
                    )

            return self._follow(job, "download", done)

        return self._guard(run)

    def make_available(self) -> dict[str, Any] | None:
        """A replication rule for the selected DID on the chosen RSE, with the lifetime given."""

        def run() -> dict[str, Any]:
            if self.selected is None:
                raise ValueError("Select a DID first.")
            if not self.rse.value:
                raise ValueError("Choose an RSE.")
            did = self.selected["did"]["did"]
            days = float(self.lifetime_days.value) or None
            rule = self.lake.make_available(did, self.rse.value, lifetime_days=days, instance=self._name())
            self.info.show(f"Rule {rule['id']} on {rule['rse_expression']}: {rule['state']}.", "success")
            self.select(did)
            return rule

        return self._guard(run)

    def upload(self) -> JobProgress | None:
        """Upload files of your home to the chosen RSE (into a dataset, with a lifetime)."""

        def run() -> JobProgress:
            files = [f.strip() for f in self.upload_files.value.split(",") if f.strip()]
            if not files:
                raise ValueError("Give the files to upload (paths in your home, comma-separated).")
            job = self.lake.upload(
                files,
                scope=self.upload_scope.value.strip(),
                rse=self.upload_rse.value or "",
                dataset=self.upload_dataset.value.strip() or None,
                lifetime=int(self.upload_lifetime.value) or None,
                wait=False,
                instance=self._name(),
            )

            def done(final: dict[str, Any]) -> None:
                if final["state"] == "succeeded":
                    r = final["result"]
                    self.info.show(f"{len(r['files'])} file(s) uploaded to {r['rse']}.", "success")

            return self._follow(job, "upload", done)

        return self._guard(run)

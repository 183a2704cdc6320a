"""``vrelab lake instances|login|logout|whoami|search|show|rses|rules``: browse and act on a data lake.

Every command goes through the vrelab server's REST API (``Client().lake``); ``-i/--instance``
picks a Rucio instance (default: the server's default one). ``COMMANDS`` lists them for the
``vrelab lake`` group (``cli/lake/__init__.py``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ...units import format_bytes
from ..common import Ctx, emit, json_option, pass_ctx, table


def _instance_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "-i", "--instance", envvar="VRELAB_LAKE_INSTANCE", help="Rucio instance [default: the server's default]."
    )(fn)


def _when(text: str | None) -> str:
    return text.replace("T", " ")[:19] if text else "-"


def _paging(page: dict[str, Any], what: str) -> str:
    shown = f"{len(page['items'])} {what}"
    if page.get("offset"):
        shown += f" from #{page['offset'] + 1}"
    if page.get("has_more"):
        shown += f"; more with --offset {page['offset'] + len(page['items'])}"
    if page.get("truncated"):
        shown += f" (sorted among the first {page.get('scan_limit', '?')} matches only)"
    return shown


def _states(states: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in states.items())


def _rule_rows(rules: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            r["id"],
            r["did"],
            r["rse_expression"],
            r["state"],
            f"{r['locks']['ok']}/{r['locks']['replicating']}/{r['locks']['stuck']}",
            _when(r["expires_at"]),
            r["account"],
        ]
        for r in rules
    ]


RULE_HEADERS = ["ID", "DID", "RSE EXPRESSION", "STATE", "OK/REPL/STUCK", "EXPIRES", "ACCOUNT"]


# ---------------------------------------------------------------------- identity
@click.command()
@json_option
@pass_ctx
def instances(ctx: Ctx) -> None:
    """The Rucio instances this server knows, and who you are on each."""
    data = ctx.client.lake.instances()

    def text(items: list[dict[str, Any]]) -> str:
        rows = [
            [
                ("* " if i["default"] else "  ") + i["name"],
                i["display_name"],
                i["rucio_host"],
                f"{i['account']} ({i['auth_type']}, {i['source']})" if i["logged_in"] else "not logged in",
            ]
            for i in items
        ]
        return table(rows, ["NAME", "DISPLAY NAME", "RUCIO", "IDENTITY"]) if rows else "No instance configured."

    emit(ctx, data, text)


@click.command()
@click.argument("instance", required=False)
@click.option(
    "--auth-type",
    type=click.Choice(["userpass", "x509", "x509_proxy", "oidc"]),
    default="userpass",
    show_default=True,
)
@click.option("--account", required=True, help="Your Rucio account.")
@click.option("--username", help="userpass: the identity's user name [default: the account].")
@click.option("--password-stdin", is_flag=True, help="userpass: read the password from stdin (else: prompt).")
@click.option("--cert", help="x509: your certificate (a path in your Jupyter home folder).")
@click.option("--key", help="x509: your private key (a path in your Jupyter home folder).")
@click.option("--proxy", help="x509_proxy: your proxy (a path in your Jupyter home folder).")
@click.option("--paste", is_flag=True, help="x509: send the content of these local files instead of paths.")
@click.option("--token-env", help="oidc: the server environment variable holding the token.")
@click.option("--token-file", help="oidc: a file in your Jupyter home folder holding the token.")
@json_option
@pass_ctx
def login(
    ctx: Ctx,
    instance: str | None,
    auth_type: str,
    account: str,
    username: str | None,
    password_stdin: bool,
    cert: str | None,
    key: str | None,
    proxy: str | None,
    paste: bool,
    token_env: str | None,
    token_file: str | None,
) -> None:
    """Store your credentials for INSTANCE on the server (checked against Rucio first).

    The server keeps them in files only you can read and never shows them again.
    """
    fields: dict[str, Any] = {"account": account}
    if auth_type == "userpass":
        password = sys.stdin.readline().rstrip("\n") if password_stdin else click.prompt("Password", hide_input=True)
        fields.update(username=username, password=password)
    elif auth_type in ("x509", "x509_proxy"):
        given = {"certificate": cert, "key": key} if auth_type == "x509" else {"proxy": proxy}
        for name, value in given.items():
            if not value:
                raise click.UsageError(f"--{'cert' if name == 'certificate' else name} is required for {auth_type}.")
            if paste:
                fields[f"{name}_pem"] = Path(value).expanduser().read_text()
            else:
                fields[name] = value
    else:
        fields.update(token_env=token_env, token_file=token_file)
    saved = ctx.client.lake.login(auth_type, instance=instance, **fields)
    expires = f", token valid until {_when(saved['token_expires_at'])}" if saved.get("token_expires_at") else ""
    emit(ctx, saved, f"Logged in to {saved['instance']} as {saved['account']} ({saved['auth_type']}){expires}.")


@click.command()
@_instance_option
@json_option
@pass_ctx
def logout(ctx: Ctx, instance: str | None) -> None:
    """Forget the credentials you stored for an instance."""
    ctx.client.lake.logout(instance=instance)
    emit(ctx, {"logged_out": True}, "Stored credentials removed.")


@click.command()
@_instance_option
@json_option
@pass_ctx
def whoami(ctx: Ctx, instance: str | None) -> None:
    """The Rucio account you act as, and when your token expires."""
    who = ctx.client.lake.whoami(instance=instance)
    emit(
        ctx,
        who,
        lambda d: (
            f"{d['account']} on {d['instance']} ({d['auth_type']}, {d['source']}); "
            f"token until {_when(d['token_expires_at'])}"
        ),
    )


# ---------------------------------------------------------------------- browse
@click.command()
@click.argument("pattern")
@click.option(
    "-t",
    "--type",
    "did_type",
    type=click.Choice(["all", "collection", "container", "dataset", "file"]),
    default="all",
    show_default=True,
)
@click.option("-f", "--filter", "filters", help="Metadata: key=value, key>=value... (',' AND, ';' OR).")
@click.option("--sort", type=click.Choice(["name", "-name", "bytes", "-bytes", "length", "-length"]))
@click.option("--limit", default=50, show_default=True)
@click.option("--offset", default=0, show_default=True)
@_instance_option
@json_option
@pass_ctx
def search(
    ctx: Ctx,
    pattern: str,
    did_type: str,
    filters: str | None,
    sort: str | None,
    limit: int,
    offset: int,
    instance: str | None,
) -> None:
    """Find DIDs: PATTERN is scope:name with * wildcards, e.g. 'ATLAS_OD_EDU:GamGam*'."""
    page = ctx.client.lake.search(
        pattern, type=did_type, filters=filters, sort=sort, limit=limit, offset=offset, instance=instance
    )

    def text(p: dict[str, Any]) -> str:
        rows = [
            [d["did"], d["type"] or "-", format_bytes(d["bytes"]), "-" if d["length"] is None else str(d["length"])]
            for d in p["items"]
        ]
        # a column the server has no value for on this page (e.g. FILES of files) is left out
        body = table(rows, ["DID", "TYPE", "SIZE", "FILES"], drop_empty=True) + "\n" if rows else ""
        return body + _paging(p, "DID(s)")

    emit(ctx, page, text)


@click.command()
@click.argument("did")
@click.option("--limit", default=20, show_default=True, help="How many children and files to list.")
@_instance_option
@json_option
@pass_ctx
def show(ctx: Ctx, did: str, limit: int, instance: str | None) -> None:
    """A DID: size, checksums, metadata, contents, replicas per RSE and rules."""
    lake = ctx.client.lake
    info = lake.did(did, instance=instance)
    data: dict[str, Any] = {"did": info}
    if info["type"] != "FILE":
        data["children"] = lake.children(did, limit=limit, instance=instance)
    data["parents"] = lake.parents(did, limit=limit, instance=instance)
    data["replicas"] = lake.replicas(did, limit=limit, instance=instance)
    data["rules"] = lake.did_rules(did, limit=limit, instance=instance)

    def text(d: dict[str, Any]) -> str:
        i = d["did"]
        out = [
            f"{i['did']}  ({i['type']}, {format_bytes(i['bytes'])}"
            + (f", {i['length']} file{'' if i['length'] == 1 else 's'})" if i["length"] else ")")
        ]
        sums = ", ".join(f"{k} {v}" for k, v in i["checksums"].items() if v)
        if sums:
            out.append(f"  checksums: {sums}")
        out.append(f"  owner: {i['account']}   created: {_when(i['created_at'])}   expires: {_when(i['expires_at'])}")
        for k, v in sorted(i["metadata"].items()):
            out.append(f"  {k} = {v}")
        if "children" in d:
            out += ["", "Contents:"]
            out += [f"  {c['did']}  {c['type']}  {format_bytes(c['bytes'])}" for c in d["children"]["items"]]
            out.append("  " + _paging(d["children"], "shown"))
        if d["parents"]["items"]:
            out += ["", "In: " + ", ".join(p["did"] for p in d["parents"]["items"])]
        rows = [
            [r["rse"], f"{r['available']}/{r['files']}", format_bytes(r["bytes"]), _states(r["states"])]
            for r in d["replicas"]["rses"]
        ]
        out += ["", "Replicas:", table(rows, ["RSE", "AVAILABLE", "SIZE", "STATES"]) if rows else "  none"]
        rules = d["rules"]["items"]
        out += ["", "Rules:", table(_rule_rows(rules), RULE_HEADERS) if rules else "  none"]
        return "\n".join(out)

    emit(ctx, data, text)


@click.command()
@click.argument("rse", required=False)
@click.option("-e", "--expression", help="Only RSEs this RSE expression selects, e.g. type=DATADISK.")
@_instance_option
@json_option
@pass_ctx
def rses(ctx: Ctx, rse: str | None, expression: str | None, instance: str | None) -> None:
    """Storage elements with your quota on each; with RSE, its attributes, protocols and usage."""
    lake = ctx.client.lake
    if rse:
        info = lake.rse(rse, instance=instance)

        def detail(d: dict[str, Any]) -> str:
            q = d["quota"]
            out = [f"{d['rse']}  ({d['rse_type']})"]
            out.append(f"  your quota: {format_bytes(q['used_bytes'])} used of {format_bytes(q['limit_bytes'])}")
            out += [f"  {k} = {v}" for k, v in sorted(d["attributes"].items())]
            out += [f"  protocol {p['scheme']}://{p['hostname']}:{p['port']}{p['prefix']}" for p in d["protocols"]]
            out += [
                f"  usage ({u['source']}): {format_bytes(u['used_bytes'])}, {u['files'] or 0} files" for u in d["usage"]
            ]
            return "\n".join(out)

        emit(ctx, info, detail)
        return
    items = lake.rses(expression, instance=instance)

    def text(rows_in: list[dict[str, Any]]) -> str:
        rows = [
            [
                r["rse"],
                r["rse_type"] or "-",
                "".join(k[0] if r["availability"].get(k) else "-" for k in ("read", "write", "delete")),
                format_bytes(r["quota"]["used_bytes"]),
                format_bytes(r["quota"]["limit_bytes"]),
            ]
            for r in rows_in
        ]
        return table(rows, ["RSE", "TYPE", "R/W/D", "YOUR USAGE", "YOUR QUOTA"])

    emit(ctx, items, text)


# ---------------------------------------------------------------------- rules
@click.group(invoke_without_command=True)
@click.option("--state", type=click.Choice(["OK", "REPLICATING", "STUCK", "SUSPENDED", "WAITING_APPROVAL", "INJECT"]))
@click.option("--limit", default=50, show_default=True)
@click.option("--offset", default=0, show_default=True)
@_instance_option
@json_option
@pass_ctx
@click.pass_context
def rules(click_ctx: click.Context, ctx: Ctx, state: str | None, limit: int, offset: int, instance: str | None) -> None:
    """Your replication rules (newest first); subcommands add, show, watch, rm."""
    click_ctx.obj.instance = instance
    if click_ctx.invoked_subcommand is not None:
        return
    page = ctx.client.lake.rules(state=state, limit=limit, offset=offset, instance=instance)

    def text(p: dict[str, Any]) -> str:
        body = table(_rule_rows(p["items"]), RULE_HEADERS) + "\n" if p["items"] else ""
        return body + _paging(p, f"of {p['total']} rule(s)")

    emit(ctx, page, text)


def _rule_instance(ctx: Ctx, instance: str | None) -> str | None:
    return instance or getattr(ctx, "instance", None)


def _follow(ctx: Ctx, rule_id: str, instance: str | None, timeout: float | None) -> dict[str, Any]:
    def say(r: dict[str, Any]) -> None:
        locks = r["locks"]
        click.echo(
            f"{r['state']:<12} ok {locks['ok']}  replicating {locks['replicating']}  stuck {locks['stuck']}", err=True
        )

    on_change = None if ctx.as_json else say
    return ctx.client.lake.wait_rule(rule_id, timeout=timeout, on_change=on_change, instance=instance)


@rules.command("add")
@click.argument("did")
@click.argument("rse_expression", required=False)
@click.option("--copies", default=1, show_default=True)
@click.option("--lifetime-days", type=float, help="Days until the rule (and its copies) expire.")
@click.option("--comment")
@click.option("--wait", is_flag=True, help="Follow the rule until it is OK (or STUCK/SUSPENDED).")
@click.option("--timeout", type=float, help="With --wait: give up after this many seconds.")
@_instance_option
@json_option
@pass_ctx
def add(
    ctx: Ctx,
    did: str,
    rse_expression: str | None,
    copies: int,
    lifetime_days: float | None,
    comment: str | None,
    wait: bool,
    timeout: float | None,
    instance: str | None,
) -> None:
    """Make DID available on RSE_EXPRESSION (default: the instance's destination RSE)."""
    instance = _rule_instance(ctx, instance)
    rule = ctx.client.lake.make_available(
        did, rse_expression, copies=copies, lifetime_days=lifetime_days, comment=comment, instance=instance
    )
    if wait:
        rule = _follow(ctx, rule["id"], instance, timeout)
    emit(ctx, rule, lambda r: f"Rule {r['id']}: {r['did']} -> {r['rse_expression']}, {r['state']}")


@rules.command("show")
@click.argument("rule_id")
@_instance_option
@json_option
@pass_ctx
def show_rule(ctx: Ctx, rule_id: str, instance: str | None) -> None:
    """One rule with its state and locks."""
    rule = ctx.client.lake.rule(rule_id, instance=_rule_instance(ctx, instance))
    emit(ctx, rule, lambda r: table(_rule_rows([r]), RULE_HEADERS) + (f"\nerror: {r['error']}" if r["error"] else ""))


@rules.command("watch")
@click.argument("rule_id")
@click.option("--timeout", type=float, help="Give up after this many seconds.")
@_instance_option
@json_option
@pass_ctx
def watch(ctx: Ctx, rule_id: str, timeout: float | None, instance: str | None) -> None:
    """Follow a rule until it is OK, STUCK or SUSPENDED (exit 1 unless OK)."""
    rule = _follow(ctx, rule_id, _rule_instance(ctx, instance), timeout)
    emit(ctx, rule, lambda r: f"Rule {r['id']} is {r['state']}.")
    if rule["state"] != "OK":
        sys.exit(1)


@rules.command("rm")
@click.argument("rule_id")
@_instance_option
@json_option
@pass_ctx
def rm(ctx: Ctx, rule_id: str, instance: str | None) -> None:
    """Delete one of your rules (Rucio removes its copies later)."""
    rule = ctx.client.lake.delete_rule(rule_id, instance=_rule_instance(ctx, instance))
    emit(ctx, rule, lambda r: f"Rule {r['id']} deleted; Rucio removes it by {_when(r['expires_at'])}.")


COMMANDS = [instances, login, logout, whoami, search, show, rses, rules]

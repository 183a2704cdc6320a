"""Nothing cramped, in real Chromium: every sidebar tab (with real content: fit results of each
kind, a workflow run, lake search results and a dataset's details) and every notebook widget
(FitPanel, DataLakeBrowser, WorkflowPanel), at the default width and a narrow one. The page is
measured: no text or field cut, nothing spilling out or scrolling sideways, no text wrapped to one
or two characters a line (browser_fixtures.layout_problems). Screenshots go to
artifacts/browser/layout/."""

from __future__ import annotations

import json
import shutil

import pytest

from browser_fixtures import (
    ARTIFACTS,
    SIDEBAR_WIDTHS,
    layout_problems,
    layout_problems_in,
    open_tab,
    set_sidebar_width,
)
from servers import LIKELIHOODS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIKELIHOOD = "3L-eRJR"
PATCH = "ERJR_350p0_50p0"
FAST = {"fix_shapesys_tau_above": 1e8}
SHOTS = ARTIFACTS / "layout"
WORKFLOW = """
name: layout-check
steps:
  - name: hello
    image: python:3.11-slim
    command: echo "hello from a step" > hello.txt
    outputs: [hello.txt]
  - name: write
    image: python:3.11-slim
    needs: [hello]
    command: echo 42 > out.txt
    outputs: [out.txt]
outputs:
  files: [hello.txt, out.txt]
"""


@pytest.fixture(scope="module")
def client(a_jupyterlab):
    from vrelab.client import Client

    with Client(a_jupyterlab.url, a_jupyterlab.token) as c:
        yield c


@pytest.fixture(scope="module")
def content(a_jupyterlab, client) -> dict[str, object]:
    """A stored workspace, a finished fit job of each kind and a finished workflow run."""
    assert (LIKELIHOODS / LIKELIHOOD).is_dir(), f"the published likelihoods are missing from {LIKELIHOODS}"
    target = a_jupyterlab.root / "likelihoods" / LIKELIHOOD
    if not target.exists():
        shutil.copytree(LIKELIHOODS / LIKELIHOOD, target)
    ws = client.fit.add(path=f"likelihoods/{LIKELIHOOD}")
    patches = [p["name"] for p in client.fit.patches(ws["id"])["patches"]]
    wid = ws["id"]
    jobs = {
        "fit.hypotest": client.submit("fit.hypotest", {"workspace_id": wid, "patch": PATCH, **FAST}),
        "fit.limit": client.submit(
            "fit.limit", {"workspace_id": wid, "patch": PATCH, "scan": {"start": 0, "stop": 5, "steps": 6}, **FAST}
        ),
        "fit.scan": client.submit("fit.scan", {"workspace_id": wid, "patches": patches[:6], **FAST}),
        "fit.mle": client.submit("fit.mle", {"workspace_id": wid, "patch": PATCH, **FAST}),
    }
    done = {kind: client.result(job) for kind, job in jobs.items()}
    r = a_jupyterlab.request("POST", "workflows", json={"spec": WORKFLOW, "backend": "local"})
    assert r.status_code == 202, r.text
    run = client.workflows.wait(r.json()["id"])
    assert run["status"] == "finished", run
    return {"workspace": wid, "jobs": {kind: job["id"] for kind, job in jobs.items()}, "results": done, "run": run}


def _expand_fits(page) -> None:
    page.wait_for_selector("#vrelab-fits .jp-vrelab-FitJob", timeout=30_000)
    closed = page.locator("#vrelab-fits .jp-vrelab-FitJob .jp-vrelab-RowButton[aria-expanded='false']")
    while closed.count():
        closed.first.click()  # the list is drawn again: find the next one afresh
    page.wait_for_function(
        "document.querySelectorAll('#vrelab-fits .jp-vrelab-FitResult').length >= 4"
        " && document.querySelectorAll('#vrelab-fits .jp-vrelab-Plot').length >= 4",
        timeout=60_000,
    )


def _expand_run(page, run_id: str) -> None:
    item = page.locator(f".jp-vrelab-Run[data-run-id='{run_id}']")
    item.wait_for(timeout=30_000)
    if item.locator(".jp-vrelab-RowButton").get_attribute("aria-expanded") == "false":
        item.locator(".jp-vrelab-RowButton").click()
    item.locator(".jp-vrelab-Output").first.wait_for(timeout=30_000)
    item.locator(".jp-vrelab-Step .jp-vrelab-Button", has_text="Log").first.click()
    item.locator(".jp-vrelab-Log").first.wait_for(timeout=30_000)


def _lake_details(page) -> None:
    page.locator("#vrelab-lake .jp-vrelab-Account").wait_for(timeout=60_000)
    page.locator("#jp-vrelab-pattern").fill("ATLAS_OD_EDU:*")
    page.locator("#vrelab-lake .jp-vrelab-Button", has_text="Search").click()
    page.locator("#vrelab-lake .jp-vrelab-DID").first.wait_for(timeout=60_000)


def _check(page, selector: str, name: str, problems: list[str]) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    problems += [f"{name}: {p}" for p in layout_problems(page, selector)]


@pytest.mark.parametrize("width", list(SIDEBAR_WIDTHS))
def test_every_sidebar_tab_fits_its_width(lab_page, content, width):
    page = lab_page
    problems: list[str] = []
    open_tab(page, "status")
    set_sidebar_width(page, SIDEBAR_WIDTHS[width])
    page.wait_for_selector(".jp-vrelab-ServerInfo", timeout=30_000)
    _check(page, "#vrelab-sidebar", f"sidebar-status-{width}", problems)

    open_tab(page, "lake")
    _lake_details(page)
    _check(page, "#vrelab-sidebar", f"sidebar-lake-search-{width}", problems)
    page.locator("#vrelab-lake .jp-vrelab-DID[data-type='DATASET'] .jp-vrelab-RowButton").first.click()
    page.wait_for_function(
        "(() => { const s = document.querySelector('#jp-vrelab-rule-rse');"
        " return s && s.options.length > 0 && s.options[0].value !== ''; })()",
        timeout=60_000,
    )
    _check(page, "#vrelab-sidebar", f"sidebar-lake-details-{width}", problems)

    open_tab(page, "fits")
    _expand_fits(page)
    _check(page, "#vrelab-sidebar", f"sidebar-fits-{width}", problems)

    open_tab(page, "workflows")
    _expand_run(page, content["run"]["id"])
    _check(page, "#vrelab-sidebar", f"sidebar-workflows-{width}", problems)
    assert not problems, "\n".join(problems)


WIDGETS = """
from vrelab.client import Client
from vrelab.widgets import DataLakeBrowser, FitPanel, WorkflowPanel

client = Client()
job = client.job({job!r})
fit_panel = FitPanel(client, workspace={workspace!r})
fit_panel.show_result(job["result"], job["kind"])
fit_panel.set_action("fit.limit")  # its limit options show
display(fit_panel)
scan_panel = FitPanel(client, workspace={workspace!r})
scan_panel.set_action("fit.scan")  # and a scan's
display(scan_panel)
lake_browser = DataLakeBrowser(client)
lake_browser.pattern.value = "ATLAS_OD_EDU:*"
lake_browser.search()
display(lake_browser)
display(WorkflowPanel(client))
"""

NOTEBOOK_WIDTHS = {"default": 1400, "narrow": 900}  # px of the browser window, the sidebar closed


@pytest.mark.parametrize("width", list(NOTEBOOK_WIDTHS))
def test_every_widget_fits_a_notebook(lab_page, a_jupyterlab, content, width):
    page = lab_page
    page.set_viewport_size({"width": NOTEBOOK_WIDTHS[width], "height": 1400})
    source = WIDGETS.format(job=content["jobs"]["fit.limit"], workspace=content["workspace"])
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [{"cell_type": "code", "id": "widgets", "metadata": {}, "source": source, "outputs": [],
                   "execution_count": None}],
    }  # fmt: skip
    name = f"layout-widgets-{width}.ipynb"
    (a_jupyterlab.root / name).write_text(json.dumps(nb))
    page.evaluate(f"window.jupyterapp.commands.execute('docmanager:open', {{path: '{name}'}})")
    page.wait_for_function(
        "(() => { const w = window.jupyterapp.shell.currentWidget; const s = w && w.sessionContext;"
        " return s && s.session && s.session.kernel && s.session.kernel.status === 'idle'; })()",
        timeout=90_000,
    )
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        "document.querySelectorAll('.jp-OutputArea-output:has(.widget-vbox)').length >= 4"
        " && document.querySelector('.jp-OutputArea-output img') !== null",
        timeout=120_000,
    )
    page.wait_for_function(
        "[...document.querySelectorAll('.jp-OutputArea-output select[size]')].some(s => s.options.length > 0)",
        timeout=60_000,
    )
    page.wait_for_timeout(500)
    problems: list[str] = []
    outputs = page.locator(".jp-OutputArea-output:has(.widget-vbox)")
    for i in range(outputs.count()):
        outputs.nth(i).scroll_into_view_if_needed()
        SHOTS.mkdir(parents=True, exist_ok=True)
        outputs.nth(i).screenshot(path=str(SHOTS / f"widget-{i}-{width}.png"))
        problems += [f"widget {i} ({width}): {p}" for p in layout_problems_in(outputs.nth(i))]
    page.evaluate("window.jupyterapp.serviceManager.sessions.shutdownAll()")
    assert not problems, "\n".join(problems)

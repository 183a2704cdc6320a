"""The vrelab sidebar in JupyterLab, in real Chromium: status, jobs, errors, themes."""

from __future__ import annotations

import httpx
import pytest

from browser_fixtures import assert_no_console_errors, open_tab, save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _open_sidebar(page):
    # the left-bar icon is there; the command opens the panel whatever state the layout restored
    assert page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id='vrelab-sidebar']").count() == 1
    page.evaluate("window.jupyterapp.commands.execute('vrelab:open-sidebar')")
    page.wait_for_selector(".jp-vrelab-ServerInfo", timeout=30_000)


def test_sidebar_shows_capabilities_and_jobs(lab_page, a_jupyterlab):
    page = lab_page
    _open_sidebar(page)
    # the embedded lake is configured and answers: the lake capability shows as ready
    lake = page.locator(".jp-vrelab-ServerInfo .jp-vrelab-Item", has_text="lake")
    lake.wait_for(timeout=30_000)
    page.wait_for_function(
        "[...document.querySelectorAll('.jp-vrelab-ServerInfo .jp-vrelab-Item')]"
        ".some(e => e.textContent.includes('lake') && e.textContent.includes('ready'))",
        timeout=30_000,
    )
    # a job submitted through the API appears in the panel and finishes there
    r = httpx.post(
        a_jupyterlab.api + "jobs",
        headers=a_jupyterlab.headers,
        json={"kind": "test.steps", "params": {"steps": 3, "delay": 0.1}},
    )
    assert r.status_code == 202
    job_id = r.json()["id"]
    page.locator(".jp-vrelab-IconButton").first.click()  # refresh now rather than at the next poll
    page.wait_for_function(
        "[...document.querySelectorAll('.jp-vrelab-Job')].some(e => e.textContent.includes('succeeded'))",
        timeout=30_000,
    )
    assert page.locator(".jp-vrelab-Job").count() >= 1
    save_screenshot(page, "sidebar-status-light")
    page.evaluate("window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
    page.wait_for_function("document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
    page.wait_for_timeout(500)
    save_screenshot(page, "sidebar-status-dark")
    page.evaluate("window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
    errors = [m for m in page.console if m.startswith(("error", "pageerror"))]
    assert not errors, errors
    assert job_id


def test_sidebar_shows_a_failed_jobs_message(lab_page, a_jupyterlab):
    page = lab_page
    _open_sidebar(page)
    r = httpx.post(
        a_jupyterlab.api + "jobs",
        headers=a_jupyterlab.headers,
        json={"kind": "test.fail", "params": {"message": "the DID ATLAS_OD_EDU:nope does not exist"}},
    )
    assert r.status_code == 202
    page.locator(".jp-vrelab-IconButton").first.click()
    page.wait_for_function(
        "document.body.textContent.includes('the DID ATLAS_OD_EDU:nope does not exist')", timeout=30_000
    )


def test_the_sidebar_reads_nothing_while_hidden(lab_page):
    """The Fits tab streams job events only while it shows: hiding the sidebar closes the stream,
    and no tab polls the API until it shows again."""
    page = lab_page
    opened: list[str] = []
    closed: list[str] = []
    page.on("request", lambda r: opened.append(r.url) if "/vrelab/api/v1/" in r.url else None)
    page.on("requestfailed", lambda r: closed.append(r.url) if "/jobs/events" in r.url else None)
    open_tab(page, "fits")
    page.wait_for_selector("#vrelab-fits .jp-vrelab-Footer:has-text('Live')", timeout=30_000)
    assert any("/jobs/events" in u for u in opened)

    page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id='filebrowser']").click()
    page.wait_for_function("!document.querySelector('#vrelab-sidebar').checkVisibility()", timeout=10_000)
    page.wait_for_timeout(500)
    assert closed, "the job stream stayed open while the sidebar was hidden"
    opened.clear()
    page.wait_for_timeout(6_000)  # longer than the Status tab's poll interval
    assert opened == []

    open_tab(page, "fits")
    page.wait_for_selector("#vrelab-fits .jp-vrelab-Footer:has-text('Live')", timeout=30_000)
    assert any("/jobs/events" in u for u in opened)
    assert_no_console_errors(page)

"""The sidebar's Data lake tab in real Chromium, against the embedded real Rucio lake: search,
details with replicas and rules, a download into the file browser's folder, and the login form."""

from __future__ import annotations

import json

import pytest

from browser_fixtures import (
    LOGIN_INSTANCE,
    assert_no_console_errors,
    open_tab,
    save_screenshot,
    screenshots_in_both_themes,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DATASET = "ATLAS_OD_EDU:GamGam.data"


def _search(page, text: str, type_: str = "all") -> None:
    page.locator(".jp-vrelab-Pattern").fill(text)
    page.locator(".jp-vrelab-LakeTab select[aria-label='DID type']").select_option(type_)
    page.locator(".jp-vrelab-SearchRow .jp-vrelab-Button").click()


def test_search_open_a_dataset_and_download_it_into_the_file_browser(lab_page, a_jupyterlab, embedded_lake):
    page = lab_page
    folder = a_jupyterlab.root / "from-the-lake"
    folder.mkdir()
    # the file browser shows the folder the download goes to
    page.evaluate("window.jupyterapp.commands.execute('filebrowser:go-to-path', {path: '/from-the-lake'})")
    page.wait_for_function(
        "window.jupyterapp.shell.widgets('left').next && "
        "[...window.jupyterapp.shell.widgets('left')].find(w => w.id === 'filebrowser').model.path === 'from-the-lake'",
        timeout=30_000,
    )

    open_tab(page, "lake")
    # logged in through the operator's configured identity
    page.wait_for_selector(".jp-vrelab-Login[data-state='in'] strong", timeout=30_000)
    assert page.locator(".jp-vrelab-Account strong").inner_text() == embedded_lake.user

    # a scope alone searches all of it; results page, with more to follow
    _search(page, "ATLAS_OD_EDU")
    page.wait_for_selector(".jp-vrelab-DID", timeout=30_000)
    listed = page.locator(".jp-vrelab-DID").evaluate_all("els => els.map(e => e.dataset.did)")
    assert DATASET in listed and "ATLAS_OD_EDU:GamGam" in listed and len(listed) == 20
    assert "more follow" in page.locator(".jp-vrelab-PagerText").inner_text()
    page.locator(".jp-vrelab-Pager .jp-vrelab-Button", has_text="Next").click()
    page.wait_for_function("document.querySelector('.jp-vrelab-PagerText').textContent.startsWith('21–')")

    # the type filter: datasets only
    _search(page, "ATLAS_OD_EDU:*", "dataset")
    page.wait_for_function(
        "[...document.querySelectorAll('.jp-vrelab-DID')].length === 4 && "
        "[...document.querySelectorAll('.jp-vrelab-DID')].every(e => e.dataset.type === 'DATASET')",
        timeout=30_000,
    )
    page.locator(f".jp-vrelab-DID[data-did='{DATASET}'] button").click()

    # details: facts, files, replicas per RSE, rules with state and expiry
    page.wait_for_selector(".jp-vrelab-Replica", timeout=30_000)
    lapp = page.locator(".jp-vrelab-Replica[data-rse='LAPP-DISK']")
    assert lapp.get_attribute("data-kind") == "ok" and "4/4" in lapp.inner_text()
    assert page.locator(".jp-vrelab-File").count() == 4
    rules = page.locator(".jp-vrelab-Rule")
    assert rules.count() >= 1
    assert "no expiry" in rules.first.inner_text() and rules.first.locator(".jp-vrelab-Badge").inner_text()
    # the code for a notebook: lake.paths for a dataset (lake.open is for one file)
    assert 'paths = lake.paths("ATLAS_OD_EDU:GamGam.data")' in page.locator(".jp-vrelab-Snippet").inner_text()
    screenshots_in_both_themes(page, "sidebar-lake")

    # download: a lake.download job, followed live, and the files show up in the file browser
    page.locator(".jp-vrelab-Download").click()
    item = page.locator(".jp-vrelab-Downloads .jp-vrelab-Job").first
    item.wait_for(timeout=30_000)
    page.wait_for_function(
        "(() => { const e = document.querySelector('.jp-vrelab-Downloads .jp-vrelab-Job');"
        " return e && ['ok', 'error'].includes(e.dataset.kind); })()",
        timeout=90_000,
    )
    assert item.get_attribute("data-kind") == "ok", item.inner_text()
    names = sorted(p.name for p in folder.iterdir())
    expected = sorted(f["name"] for f in embedded_lake.client().list_files("ATLAS_OD_EDU", "GamGam.data"))
    assert names == expected
    assert "Done" in item.inner_text()
    page.locator(".jp-vrelab-Downloads").scroll_into_view_if_needed()
    save_screenshot(page, "sidebar-lake-download-light")
    page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id='filebrowser']").click()
    for name in expected:
        page.locator(f".jp-DirListing-item[title^='Name: {name}']").wait_for(timeout=30_000)
    save_screenshot(page, "filebrowser-after-download-light")
    assert_no_console_errors(page)


def test_login_form_refuses_a_wrong_password_then_logs_in(lab_page, embedded_lake):
    page = lab_page
    open_tab(page, "lake")
    page.wait_for_selector(".jp-vrelab-Login[data-state='in']", timeout=30_000)
    page.locator(".jp-vrelab-LakeTab select[aria-label='Data-lake instance']").select_option(LOGIN_INSTANCE)
    form = page.locator(".jp-vrelab-Login[data-state='out']")
    form.wait_for(timeout=30_000)
    assert page.locator(".jp-vrelab-Pattern").is_disabled()  # no search before logging in

    form.locator("input[name='account']").fill(embedded_lake.user)
    form.locator("input[name='password']").fill("not-the-password")
    form.locator(".jp-vrelab-Button").click()
    error = form.locator(".jp-vrelab-Error")
    error.wait_for(timeout=30_000)
    assert "HTTP 401" in error.inner_text()
    assert form.locator("input[name='password']").input_value() == ""  # a refused password is not kept

    form.locator("input[name='password']").fill(embedded_lake.password(embedded_lake.user))
    form.locator("input[name='password']").press("Enter")
    page.wait_for_selector(".jp-vrelab-Login[data-state='in'] .jp-vrelab-Button", timeout=30_000)  # Log out
    assert "stored by you" in page.locator(".jp-vrelab-Login").inner_text()
    _search(page, "ATLAS_OD_EDU:4lep*", "container")
    page.wait_for_selector(".jp-vrelab-DID[data-did='ATLAS_OD_EDU:4lep']", timeout=30_000)

    page.locator(".jp-vrelab-Login .jp-vrelab-Button", has_text="Log out").click()
    page.wait_for_selector(".jp-vrelab-Login[data-state='out']", timeout=30_000)
    assert_no_console_errors(page, expected_failures=("401 PUT",))


def test_make_available_on_an_rse_and_a_refused_rule(lab_page, lake_sandbox):
    page = lab_page
    lake_sandbox.upload(lake_sandbox.make_file(size=2048))
    open_tab(page, "lake")
    page.wait_for_selector(".jp-vrelab-Login[data-state='in']", timeout=30_000)
    _search(page, lake_sandbox.did, "dataset")
    page.locator(f".jp-vrelab-DID[data-did='{lake_sandbox.did}'] button").click()
    page.wait_for_selector(".jp-vrelab-Rule", timeout=30_000)
    assert page.locator(".jp-vrelab-Rule").count() == 1  # the sandbox's own rule on LAPP-SCRATCHDISK
    rse = page.locator(".jp-vrelab-Details").get_by_label("Make available on the RSE")
    page.wait_for_function("document.querySelectorAll('#jp-vrelab-rule-rse option').length >= 3")
    # the free space of your quota there is said under the choice, not squeezed into it
    assert "free there" in page.locator(".jp-vrelab-RuleForm .jp-vrelab-Hint").first.inner_text()
    make = page.locator(".jp-vrelab-Details .jp-vrelab-Button", has_text="Make available")

    # the same rule again: Rucio refuses it, the panel says why
    rse.select_option("LAPP-SCRATCHDISK")
    make.click()
    error = page.locator(".jp-vrelab-Details .jp-vrelab-Error")
    error.wait_for(timeout=30_000)
    assert "HTTP 409" in error.inner_text()

    # a new rule with a lifetime: listed with its state and expiry
    rse.select_option("NAPOLI-DISK")
    page.locator(".jp-vrelab-Details").get_by_label("Lifetime in days").fill("2")
    make.click()
    new_rule = page.locator(".jp-vrelab-Rule", has_text="NAPOLI-DISK")
    new_rule.wait_for(timeout=30_000)
    assert new_rule.locator(".jp-vrelab-Badge").inner_text() in ("REPLICATING", "OK")
    assert "expires" in new_rule.inner_text()
    assert page.locator(".jp-vrelab-Details .jp-vrelab-Error").count() == 0  # the old error is gone
    rules = lake_sandbox.client.list_did_rules(lake_sandbox.scope, lake_sandbox.dataset)
    assert sorted(r["rse_expression"] for r in rules) == ["LAPP-SCRATCHDISK", "NAPOLI-DISK"]
    assert_no_console_errors(page, expected_failures=("409 POST",))


def test_a_search_the_server_refuses_shows_the_servers_message(lab_page):
    """An error answer (the server names an unknown scope with a 404) is shown as the server wrote
    it, never as "Nothing matches"."""
    page = lab_page
    message = "The scope 'NOSCOPE' does not exist on this instance."
    # the sidebar's side of it: answer this one search as the server does for an unknown scope
    page.route(
        "**/vrelab/api/v1/lake/instances/*/dids?*pattern=NOSCOPE*",
        lambda route: route.fulfill(
            status=404,
            content_type="application/json",
            body=json.dumps({"error": {"code": "not_found", "message": message, "details": {"scope": "NOSCOPE"}}}),
        ),
    )
    open_tab(page, "lake")
    page.wait_for_selector(".jp-vrelab-Login[data-state='in']", timeout=30_000)
    _search(page, "NOSCOPE:*")
    error = page.locator(".jp-vrelab-LakeTab .jp-vrelab-Error")
    error.wait_for(timeout=30_000)
    assert message in error.inner_text() and "HTTP 404" in error.inner_text()
    assert "Nothing matches" not in page.locator(".jp-vrelab-Results").inner_text()
    assert_no_console_errors(page, expected_failures=("404 GET",))

"""The sidebar's Workflows tab in real Chromium: a run on the local backend, submitted through the
REST API while the tab watches, shows its steps finishing one after the other, a step's log and
the run's outputs; a failing run shows which step failed and why."""

from __future__ import annotations

import pytest

from browser_fixtures import assert_no_console_errors, open_tab, screenshots_in_both_themes, wait_for_text

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SPEC = """
name: count-and-sum
inputs:
  parameters: {n: 4}
steps:
  - name: count
    image: python:3.11-slim
    command: sleep 1; seq 1 "${n}" > numbers.txt; echo "counted to ${n}"
    outputs: [numbers.txt]
  - name: total
    image: python:3.11-slim
    needs: [count]
    command: echo $(( $(paste -sd+ numbers.txt) )) > total.txt; echo "the total is $(cat total.txt)"
    outputs: [total.txt]
outputs:
  files: [numbers.txt, total.txt]
"""

FAILING = """
name: breaks
steps:
  - name: fine
    image: python:3.11-slim
    command: echo ok
  - name: broken
    image: python:3.11-slim
    needs: [fine]
    command: echo "no such input" >&2; exit 3
"""


def _run_finished(page, run_id: str, timeout: float = 60_000) -> None:
    page.wait_for_function(
        f"(() => {{ const e = document.querySelector(\".jp-vrelab-Run[data-run-id='{run_id}']\");"
        " return e && ['ok', 'error', 'warn'].includes(e.dataset.kind); })()",
        timeout=timeout,
    )


def test_a_run_shows_its_steps_logs_and_outputs(lab_page, a_jupyterlab):
    page = lab_page
    open_tab(page, "workflows")
    page.wait_for_selector("#vrelab-workflows .jp-vrelab-Runs:not(:has-text('Loading'))", timeout=30_000)

    r = a_jupyterlab.request("POST", "workflows", json={"spec": SPEC, "backend": "local"})
    assert r.status_code == 202, r.text
    run_id = r.json()["id"]
    item = page.locator(f".jp-vrelab-Run[data-run-id='{run_id}']")
    item.wait_for(timeout=30_000)  # appears through the job stream, without a refresh
    assert "count-and-sum" in item.inner_text()
    item.locator(".jp-vrelab-RowButton").click()
    page.wait_for_selector(f".jp-vrelab-Run[data-run-id='{run_id}'] .jp-vrelab-Step", timeout=30_000)
    _run_finished(page, run_id)
    assert item.get_attribute("data-kind") == "ok", item.inner_text()

    # per-step status, in order
    steps = item.locator(".jp-vrelab-Step")
    page.wait_for_function(
        f"[...document.querySelectorAll(\".jp-vrelab-Run[data-run-id='{run_id}'] .jp-vrelab-Step\")]"
        ".every(e => e.dataset.kind === 'ok')",
        timeout=30_000,
    )
    assert steps.evaluate_all("els => els.map(e => e.dataset.step)") == ["count", "total"]
    assert "exit 0" in steps.nth(1).inner_text()

    # a step's log
    steps.nth(1).locator(".jp-vrelab-Button", has_text="Log").click()
    log = steps.nth(1).locator(".jp-vrelab-Log")
    log.wait_for(timeout=30_000)
    wait_for_text(page, ".jp-vrelab-Log", "the total is 10")

    # outputs, declared ones listed; opening one shows it in JupyterLab
    outputs = item.locator(".jp-vrelab-Output")
    outputs.first.wait_for(timeout=30_000)
    paths = outputs.evaluate_all("els => els.map(e => e.dataset.path)")
    assert {"numbers.txt", "total.txt"} <= set(paths)
    screenshots_in_both_themes(page, "sidebar-workflows")
    item.locator(".jp-vrelab-Output[data-path='total.txt'] button").click()
    page.wait_for_function(
        "(() => { const w = window.jupyterapp.shell.currentWidget;"
        " return w && w.context && w.context.path.endsWith('total.txt'); })()",
        timeout=30_000,
    )
    assert_no_console_errors(page)


def test_a_failed_run_names_the_failing_step(lab_page, a_jupyterlab):
    page = lab_page
    open_tab(page, "workflows")
    r = a_jupyterlab.request("POST", "workflows", json={"spec": FAILING, "backend": "local"})
    assert r.status_code == 202, r.text
    run_id = r.json()["id"]
    item = page.locator(f".jp-vrelab-Run[data-run-id='{run_id}']")
    item.wait_for(timeout=30_000)
    _run_finished(page, run_id)
    assert item.get_attribute("data-kind") == "error"
    item.locator(".jp-vrelab-RowButton").click()
    broken = item.locator(".jp-vrelab-Step[data-step='broken']")
    broken.wait_for(timeout=30_000)
    assert broken.get_attribute("data-kind") == "error" and "exit 3" in broken.inner_text()
    assert "broken" in item.locator(".jp-vrelab-JobError").first.inner_text()
    broken.locator(".jp-vrelab-Button", has_text="Log").click()
    wait_for_text(page, ".jp-vrelab-Log", "no such input")
    assert_no_console_errors(page)

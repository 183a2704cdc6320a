"""A school notebook in real JupyterLab and Chromium: the published-likelihood notebook runs top to
bottom in a kernel JupyterLab started (which finds vrelab by itself), its plots appear, and the
FitPanel widget it shows works when clicked: a fit runs and its plot appears in the panel."""

from __future__ import annotations

import shutil

import pytest

from browser_fixtures import assert_no_console_errors, save_screenshot
from servers import REPO

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = "05-published-likelihood.ipynb"

KERNEL_IDLE = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const kernel = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle';
}"""
CELLS_DONE = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const kernel = w.sessionContext.session.kernel;
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  return kernel.status === 'idle' && cells.every(c => c.model.executionCount !== null);
}"""


def test_a_school_notebook_runs_in_jupyterlab_and_its_fit_panel_works(lab_page, a_jupyterlab):
    page = lab_page
    # only the notebook: it downloads the likelihood from the lake's course scope (seeded by `up`)
    (a_jupyterlab.root / "notebooks").mkdir(exist_ok=True)
    shutil.copy(REPO / "notebooks" / NOTEBOOK, a_jupyterlab.root / "notebooks" / NOTEBOOK)

    page.evaluate(f"window.jupyterapp.commands.execute('docmanager:open', {{path: 'notebooks/{NOTEBOOK}'}})")
    page.wait_for_function(KERNEL_IDLE, timeout=90_000)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(CELLS_DONE, timeout=300_000, polling=500)

    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    tracebacks = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]
    assert not tracebacks, tracebacks[:2]
    stderr = errors.all_inner_texts()
    assert not [t for t in stderr if "findfont" in t], "no font warning above the plots"
    assert page.locator(".jp-OutputArea-output img").count() >= 2, "the notebook's plots are shown"
    assert (a_jupyterlab.root / "likelihoods" / "ATLAS-SUSY-2018-04_likelihoods.tar.gz").is_file()

    # the FitPanel, rendered by JupyterLab's widget manager: run a fit by clicking
    panel = page.locator(".jp-OutputArea-output .widget-vbox", has=page.locator("button:has-text('Run')")).last
    panel.scroll_into_view_if_needed()
    images_before = panel.locator("img").count()
    panel.locator("button:has-text('Run')").first.click()
    page.wait_for_function(
        "([n]) => { const p = [...document.querySelectorAll('.jp-OutputArea-output .widget-vbox')]"
        ".filter(e => [...e.querySelectorAll('button')].some(b => b.textContent.includes('Run'))).pop();"
        " return !!p && p.querySelectorAll('img').length > n; }",
        arg=[images_before],
        timeout=180_000,
        polling=500,
    )
    assert "succeeded" in panel.inner_text()
    save_screenshot(page, "school-notebook-fit-panel")
    assert_no_console_errors(page)


def test_the_data_lake_tour_runs_and_its_browser_searches_and_shows_a_dataset(lab_page, a_jupyterlab):
    page = lab_page
    name = "01-data-lake-tour.ipynb"
    (a_jupyterlab.root / "notebooks").mkdir(exist_ok=True)
    shutil.copy(REPO / "notebooks" / name, a_jupyterlab.root / "notebooks" / name)
    page.evaluate(f"window.jupyterapp.commands.execute('docmanager:open', {{path: 'notebooks/{name}'}})")
    page.wait_for_function(KERNEL_IDLE, timeout=90_000)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(CELLS_DONE, timeout=300_000, polling=500)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert not [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]

    # the DataLakeBrowser: type a pattern, search, pick a dataset, see its replicas
    browser = page.locator(".jp-OutputArea-output .widget-vbox", has=page.locator("button:has-text('Search')")).first
    browser.scroll_into_view_if_needed()
    browser.locator("input[placeholder^='scope:name']").fill("ATLAS_OD_EDU:GamGam*")
    browser.locator("button:has-text('Search')").click()
    results = browser.locator("select[size]").first  # the results list (dropdowns are selects too)
    page.wait_for_function(
        "(sel) => sel.options.length > 0 && [...sel.options].some(o => o.text.includes('GamGam.data'))",
        arg=results.element_handle(),
        timeout=60_000,
    )
    texts = results.locator("option").all_text_contents()
    results.select_option(index=next(i for i, t in enumerate(texts) if "GamGam.data" in t))
    # the details of the dataset (its name as their heading, its replicas), not the RSE choices' names
    page.wait_for_function(
        "(el) => [...el.querySelectorAll('h4')].some(h => h.textContent === 'ATLAS_OD_EDU:GamGam.data')"
        " && el.textContent.includes('Replicas per RSE')",
        arg=browser.element_handle(),
        timeout=60_000,
    )
    assert "ATLAS_OD_EDU:GamGam.data" in (browser.text_content() or "")
    save_screenshot(page, "school-notebook-data-lake-browser")
    assert_no_console_errors(page)

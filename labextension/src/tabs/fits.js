/**
 * The Fits tab: a form that starts a fit, CLs, limit or scan on a stored
 * workspace (fit-form.js), and your fit jobs (fit.mle, fit.hypotest,
 * fit.limit, fit.scan) with their state, progress and headline number, live
 * from the job stream while the tab is visible. A job opened (or finishing)
 * shows a compact summary and a small plot of its result (fit-plot.js), and
 * "Open in a notebook" makes a notebook that shows the same result through
 * the client and the FitPanel widget.
 */
import { requestAPI } from '../api.js';
import { h, setChildren } from '../dom.js';
import { formatAge, formatDateTime } from '../format.js';
import { cancelJob, getJob, isFinished, JobStore } from '../jobs.js';
import { LiveTab } from '../live-tab.js';
import { currentFolder, openNotebookWith } from '../notebook.js';
import { button, ErrorSlot, jobHeader, placeholder, renderProgress, section, stateKind } from '../ui.js';
import { FitForm } from './fit-form.js';
import { plotResult } from './fit-plot.js';
import { headline, notebookCells, renderSummary } from './fit-summary.js';

export const FIT_KINDS = ['fit.mle', 'fit.hypotest', 'fit.limit', 'fit.scan'];
const LIMIT = 20;

export class FitsTab extends LiveTab {
  /**
   * @param {object} context
   * @param {object} context.app - the JupyterFrontEnd (for "open in notebook")
   * @param {object} [context.fileBrowser] - notebooks are created in its folder
   */
  constructor({ app = null, fileBrowser = null } = {}) {
    super();
    this.id = 'vrelab-fits';
    this.title.label = 'Fits';
    this.addClass('jp-vrelab-FitsTab');
    this._app = app;
    this._fileBrowser = fileBrowser;
    this._jobs = new JobStore((job) => FIT_KINDS.includes(job.kind));
    this._total = null;
    this._expanded = new Set();
    this._fetching = new Set();
    this._fetchFailed = new Set(); // not asked again until the next reload
    this._itemErrors = new Map(); // job id -> ErrorSlot
    this._errors = new ErrorSlot();
    this._streamErrors = new ErrorSlot();
    this._count = h('span', { class: 'jp-vrelab-Count' });
    this._list = h('div', { class: 'jp-vrelab-FitJobs' }, placeholder('Loading…'));
    this._footer = h('div', { class: 'jp-vrelab-Footer' });
    this._form = new FitForm({ onSubmitted: (job) => this._onSubmitted(job) });
    this.node.append(
      section('Start a fit', this._form.node),
      section(h('span', {}, 'Fit jobs ', this._count), this._errors.node, this._streamErrors.node, this._list),
      this._footer
    );
  }

  /** Shown, refreshed or reconnected: the stored workspaces and the jobs. */
  reload() {
    return Promise.all([this._form.load(), this._load()]);
  }

  onJob(job) {
    this._onJob(job);
  }

  onLiveChange(_live, err) {
    this._streamErrors.show(err);
    this._renderFooter();
  }

  _onSubmitted(job) {
    this._expanded.add(job.id); // its progress, then its result, open
    this._onJob(job);
    this._render(); // the stream may have brought the job first: draw it open now
  }

  async _load() {
    this._fetchFailed.clear();
    try {
      const answer = await requestAPI('jobs', { query: { kind: FIT_KINDS.join(','), limit: LIMIT } });
      this._jobs.reset(answer.jobs || []);
      this._total = Number.isFinite(answer.total) ? answer.total : null;
      this._errors.clear();
    } catch (err) {
      this._errors.show(err);
    }
    this._render();
  }

  _onJob(job) {
    if (!FIT_KINDS.includes(job.kind)) {
      return;
    }
    const before = this._jobs.get(job.id);
    if (!this._jobs.update(job)) {
      return;
    }
    if (!before && this._total !== null) {
      this._total += 1;
    }
    if (job.state === 'succeeded' && (!before || !isFinished(before))) {
      this._expanded.add(job.id); // show what it found, as it finishes
    }
    this._render();
  }

  async _fetchResult(id) {
    if (this._fetching.has(id) || this._fetchFailed.has(id)) {
      return;
    }
    this._fetching.add(id);
    try {
      const full = await getJob(id);
      this._jobs.update(full);
      this._slot(id).clear();
    } catch (err) {
      this._fetchFailed.add(id);
      this._slot(id).show(err);
    } finally {
      this._fetching.delete(id);
    }
    this._render();
  }

  _slot(id) {
    let slot = this._itemErrors.get(id);
    if (!slot) {
      slot = new ErrorSlot();
      this._itemErrors.set(id, slot);
    }
    return slot;
  }

  _toggle(id) {
    if (this._expanded.has(id)) {
      this._expanded.delete(id);
    } else {
      this._expanded.add(id);
    }
    this._render();
  }

  _render() {
    const jobs = this._jobs.list().slice(0, LIMIT);
    const total = this._total ?? jobs.length;
    this._count.textContent = total > jobs.length ? `(${jobs.length} of ${total})` : `(${jobs.length})`;
    if (!jobs.length) {
      setChildren(
        this._list,
        placeholder(
          'No fit jobs yet. Start one above, from a notebook (Client().fit, the FitPanel widget) or with `vrelab fit`.'
        )
      );
    } else {
      const now = Date.now();
      setChildren(
        this._list,
        h(
          'ul',
          { class: 'jp-vrelab-List', 'aria-label': 'Fit jobs' },
          jobs.map((j) => this._renderJob(j, now))
        )
      );
    }
    this._renderFooter();
  }

  _renderFooter() {
    this._footer.textContent = this.live ? 'Live: updates as jobs change.' : '';
  }

  _renderJob(job, now) {
    const open = this._expanded.has(job.id);
    if (job.state === 'succeeded' && job.result === undefined) {
      void this._fetchResult(job.id); // for its headline, and its summary once opened
    }
    const head = job.state === 'succeeded' && job.result !== undefined ? headline(job.kind, job.result) : '';
    const progress = job.progress || {};
    const failure = job.error && job.error.message;
    const label = job.title || job.kind;
    const created = job.created ? formatAge(job.created, now) : '';
    const actions = [];
    if (job.state === 'succeeded' && open) {
      actions.push(
        button('Open in a notebook', () => this._openNotebook(job), {
          kind: 'small',
          className: 'jp-vrelab-OpenNotebook',
          title: 'A new notebook whose cells show this result with the client and the FitPanel'
        })
      );
    }
    if (!isFinished(job)) {
      actions.push(
        button(
          'Cancel',
          async () => {
            try {
              this._onJob(await cancelJob(job.id));
            } catch (err) {
              this._slot(job.id).show(err);
            }
          },
          { kind: 'small' }
        )
      );
    }
    return h(
      'li',
      {
        class: 'jp-vrelab-Item jp-vrelab-Job jp-vrelab-FitJob',
        dataset: { kind: stateKind(job.state), jobId: job.id, fitKind: job.kind }
      },
      h(
        'button',
        {
          type: 'button',
          class: 'jp-vrelab-RowButton',
          'aria-expanded': open ? 'true' : 'false',
          title: open ? 'Hide the result' : 'Show the result',
          onClick: () => this._toggle(job.id)
        },
        jobHeader(job, label)
      ),
      head ? h('div', { class: 'jp-vrelab-Headline' }, head) : null,
      renderProgress(job),
      progress.message && !isFinished(job) ? h('div', { class: 'jp-vrelab-Message' }, progress.message) : null,
      failure ? h('div', { class: 'jp-vrelab-Message jp-vrelab-JobError' }, failure) : null,
      this._slot(job.id).node,
      open && job.state === 'succeeded'
        ? job.result !== undefined
          ? this._renderResult(job)
          : placeholder('Loading the result…')
        : null,
      h(
        'div',
        { class: 'jp-vrelab-Meta' },
        h('span', { class: 'jp-vrelab-Mono', title: job.id }, `${job.kind} · ${String(job.id).slice(0, 8)}`),
        h('span', { title: formatDateTime(job.created) }, created)
      ),
      actions.length ? h('div', { class: 'jp-vrelab-ActionRow' }, actions) : null
    );
  }

  _renderResult(job) {
    const plot = plotResult(job.kind, job.result);
    return h(
      'div',
      { class: 'jp-vrelab-FitResult' },
      renderSummary(job),
      plot ? h('div', { class: 'jp-vrelab-PlotBox' }, plot) : null
    );
  }

  async _openNotebook(job) {
    if (!this._app) {
      this._slot(job.id).show('JupyterLab did not give this panel its document manager: open a notebook by hand.');
      return;
    }
    try {
      await openNotebookWith(this._app, notebookCells(job), currentFolder(this._fileBrowser));
      this._slot(job.id).clear();
    } catch (err) {
      this._slot(job.id).show(
        err && err.message ? `Could not create the notebook: ${err.message}` : 'Could not create the notebook.'
      );
    }
  }
}

/**
 * The Fits tab: your fit jobs (fit.mle, fit.hypotest, fit.limit, fit.scan)
 * with their state and progress, live from the job stream while the tab is
 * visible; a job's result summarised when it is opened (or as it finishes);
 * and a notebook that loads the result.
 */
import { Widget } from '@lumino/widgets';

import { requestAPI } from '../api.js';
import { h, setChildren } from '../dom.js';
import { formatAge, formatDateTime } from '../format.js';
import { cancelJob, getJob, isFinished, JobStore } from '../jobs.js';
import { currentFolder, openNotebookWith } from '../notebook.js';
import { JobStream } from '../stream.js';
import { button, ErrorSlot, jobHeader, placeholder, renderProgress, section, stateKind } from '../ui.js';
import { notebookCells, renderSummary } from './fit-summary.js';

export const FIT_KINDS = ['fit.mle', 'fit.hypotest', 'fit.limit', 'fit.scan'];
const LIMIT = 20;

export class FitsTab extends Widget {
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
    this._jobs = new JobStore(job => FIT_KINDS.includes(job.kind));
    this._total = null;
    this._expanded = new Set();
    this._fetching = new Set();
    this._itemErrors = new Map(); // job id -> ErrorSlot
    this._live = false;
    this._stream = new JobStream({
      onJob: job => this._onJob(job),
      onConnect: () => {
        this._live = true;
        void this._load();
      },
      onError: err => {
        this._live = !err;
        this._streamErrors.show(err);
        this._renderFooter();
      }
    });

    this._errors = new ErrorSlot();
    this._streamErrors = new ErrorSlot();
    this._count = h('span', { class: 'jp-vrelab-Count' });
    this._list = h('div', { class: 'jp-vrelab-FitJobs' }, placeholder('Loading…'));
    this._footer = h('div', { class: 'jp-vrelab-Footer' });
    this.node.append(
      section(
        h('span', {}, 'Fit jobs ', this._count),
        this._errors.node,
        this._streamErrors.node,
        this._list
      ),
      this._footer
    );
    this._onVisibility = () => this._syncStream();
  }

  dispose() {
    if (this.isDisposed) {
      return;
    }
    this._stream.stop();
    document.removeEventListener('visibilitychange', this._onVisibility);
    super.dispose();
  }

  onAfterShow(msg) {
    super.onAfterShow(msg);
    document.addEventListener('visibilitychange', this._onVisibility);
    this._syncStream();
  }

  onAfterHide(msg) {
    super.onAfterHide(msg);
    document.removeEventListener('visibilitychange', this._onVisibility);
    this._stream.stop();
    this._live = false;
    this._renderFooter();
  }

  /** Re-read the list now (the refresh button). */
  refresh() {
    return this._load();
  }

  _syncStream() {
    if (this.isVisible && !document.hidden) {
      this._stream.start(); // its onConnect reads the list
    } else {
      this._stream.stop();
      this._live = false;
    }
  }

  async _load() {
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
    if (this._fetching.has(id)) {
      return;
    }
    this._fetching.add(id);
    try {
      const full = await getJob(id);
      this._jobs.update(full);
      this._slot(id).clear();
    } catch (err) {
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
          'No fit jobs yet. Start one from a notebook (vrelab.client.Client().fit, the FitPanel widget) or `vrelab fit`.'
        )
      );
    } else {
      const now = Date.now();
      setChildren(this._list, h('ul', { class: 'jp-vrelab-List', 'aria-label': 'Fit jobs' }, jobs.map(j => this._renderJob(j, now))));
    }
    this._renderFooter();
  }

  _renderFooter() {
    this._footer.textContent = this._live ? 'Live: updates as jobs change.' : '';
  }

  _renderJob(job, now) {
    const open = this._expanded.has(job.id);
    if (open && job.state === 'succeeded' && job.result === undefined) {
      void this._fetchResult(job.id);
    }
    const progress = job.progress || {};
    const failure = job.error && job.error.message;
    const label = job.title || job.kind;
    const created = job.created ? formatAge(job.created, now) : '';
    const actions = [];
    if (job.state === 'succeeded') {
      actions.push(
        button('Open in notebook', () => this._openNotebook(job), {
          kind: 'small',
          title: 'A new notebook with a cell that loads this result'
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
      { class: 'jp-vrelab-Item jp-vrelab-Job jp-vrelab-FitJob', dataset: { kind: stateKind(job.state), jobId: job.id, fitKind: job.kind } },
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
      renderProgress(job),
      progress.message && !isFinished(job) ? h('div', { class: 'jp-vrelab-Message' }, progress.message) : null,
      failure ? h('div', { class: 'jp-vrelab-Message jp-vrelab-JobError' }, failure) : null,
      this._slot(job.id).node,
      open && job.state === 'succeeded'
        ? job.result !== undefined
          ? renderSummary(job)
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

/**
 * The Status tab: the server's version and capabilities (`GET status`) and
 * the recent jobs (`GET jobs?limit=N`), polled while the tab is visible.
 */
import { Poll } from '@lumino/polling';
import { Widget } from '@lumino/widgets';

import { requestAPI } from '../api.js';
import { h, setChildren } from '../dom.js';
import { formatAge, formatDateTime, stateKind } from '../format.js';
import { FRONTEND_VERSION } from '../version.js';
import { renderError, renderProgress } from '../ui.js';

const POLL_INTERVAL = 5000; // ms, while visible
const POLL_MAX = 60000; // ms, backing off after failures

export class StatusTab extends Widget {
  /**
   * @param {object} [options]
   * @param {Function} [options.request] - the API call, `requestAPI` by default (tests inject one)
   * @param {number} [options.interval] - polling interval in ms while visible
   * @param {number} [options.limit] - how many recent jobs to list
   */
  constructor({ request = requestAPI, interval = POLL_INTERVAL, limit = 20 } = {}) {
    super();
    this.id = 'vrelab-status';
    this.title.label = 'Status';
    this.addClass('jp-vrelab-StatusTab');
    this._request = request;
    this._limit = limit;
    this._seq = 0;
    this._abort = null;
    this._errorKeys = new WeakMap();
    this._skew = 0; // server clock minus browser clock, ms (from status.server_time)

    this._serverError = h('div', { class: 'jp-vrelab-ErrorSlot', 'aria-live': 'polite' });
    this._serverBody = h('div', { class: 'jp-vrelab-Placeholder' }, 'Loading…');
    this._jobsCount = h('span', { class: 'jp-vrelab-Count' });
    this._jobsError = h('div', { class: 'jp-vrelab-ErrorSlot', 'aria-live': 'polite' });
    this._jobsBody = h('div', { class: 'jp-vrelab-Placeholder' }, 'Loading…');
    this._footer = h('div', { class: 'jp-vrelab-Footer' });

    this.node.append(
      h(
        'section',
        { class: 'jp-vrelab-Section', 'aria-label': 'Server' },
        h('h3', { class: 'jp-vrelab-SectionTitle' }, 'Server'),
        this._serverError,
        this._serverBody
      ),
      h(
        'section',
        { class: 'jp-vrelab-Section', 'aria-label': 'Recent jobs' },
        h('h3', { class: 'jp-vrelab-SectionTitle' }, 'Recent jobs ', this._jobsCount),
        this._jobsError,
        this._jobsBody
      ),
      this._footer
    );

    this._poll = new Poll({
      name: 'vrelab:status',
      factory: () => this._update(),
      frequency: { interval, backoff: true, max: Math.max(interval, POLL_MAX) },
      // no requests while the tab is hidden or the browser tab is in the background
      standby: () => !this.isVisible || 'when-hidden'
    });
  }

  /** Fetch now (the refresh button). */
  refresh() {
    return this._poll.refresh();
  }

  dispose() {
    if (this.isDisposed) {
      return;
    }
    this._poll.dispose();
    if (this._abort) {
      this._abort.abort();
    }
    super.dispose();
  }

  onAfterShow(msg) {
    super.onAfterShow(msg);
    void this._poll.refresh();
  }

  async _update() {
    const seq = ++this._seq;
    if (this._abort) {
      this._abort.abort();
    }
    const abort = (this._abort = new AbortController());
    const signal = abort.signal;
    this.node.classList.add('jp-mod-busy');
    try {
      const [status, jobs] = await Promise.allSettled([
        this._request('status', { signal }),
        this._request('jobs', { query: { limit: this._limit }, signal })
      ]);
      if (seq !== this._seq || this.isDisposed) {
        return; // a newer update is under way
      }
      if (status.status === 'fulfilled' && Number.isFinite((status.value || {}).server_time)) {
        this._skew = status.value.server_time * 1000 - Date.now();
      }
      const now = Date.now() + this._skew; // ages are measured on the server's clock
      if (status.status === 'fulfilled') {
        this._showError(this._serverError, null);
        this._renderServer(status.value || {});
      } else {
        this._showError(this._serverError, status.reason);
      }
      if (jobs.status === 'fulfilled') {
        this._showError(this._jobsError, null);
        this._renderJobs(jobs.value || {}, now);
      } else if (status.status === 'rejected' && sameError(status.reason, jobs.reason)) {
        this._showError(this._jobsError, null); // said once, above
      } else {
        this._showError(this._jobsError, jobs.reason);
      }
      const failures = [status, jobs].filter(r => r.status === 'rejected').length;
      const failed = failures === 2;
      const time = new Date().toLocaleTimeString();
      this._footer.textContent = failed
        ? `Failed at ${time}; retrying.`
        : failures
          ? `Partly updated at ${time}`
          : `Updated ${time}`;
      if (failed) {
        throw status.reason; // lets the poll back off
      }
    } finally {
      if (seq === this._seq && !this.isDisposed) {
        this.node.classList.remove('jp-mod-busy');
      }
    }
  }

  _showError(slot, err) {
    const key = errorKey(err);
    if (this._errorKeys.get(slot) === key) {
      return; // unchanged: do not re-announce
    }
    this._errorKeys.set(slot, key);
    setChildren(slot, err ? renderError(err) : null);
  }

  _renderServer(status) {
    const body = this._serverBody;
    body.className = 'jp-vrelab-ServerInfo';
    const version = status.version ? String(status.version) : 'unknown';
    const mismatch = status.version && FRONTEND_VERSION && status.version !== FRONTEND_VERSION;
    const caps = Object.entries(status.capabilities || {});
    setChildren(
      body,
      h(
        'div',
        { class: 'jp-vrelab-Version' },
        'vrelab ',
        h('span', { class: 'jp-vrelab-Mono' }, version),
        ' on the server'
      ),
      mismatch &&
        h(
          'div',
          { class: 'jp-vrelab-Notice' },
          `This lab extension is ${FRONTEND_VERSION}, the server ${version}: ` +
            'reload the page, or reinstall vrelab so both match.'
        ),
      caps.length
        ? h('ul', { class: 'jp-vrelab-List', 'aria-label': 'Capabilities' }, caps.map(renderCapability))
        : h('div', { class: 'jp-vrelab-Placeholder' }, 'No capabilities reported.')
    );
  }

  _renderJobs(answer, now) {
    const jobs = Array.isArray(answer.jobs) ? answer.jobs : [];
    const total = Number.isFinite(answer.total) ? answer.total : jobs.length;
    this._jobsCount.textContent = total > jobs.length ? `(${jobs.length} of ${total})` : `(${jobs.length})`;
    const body = this._jobsBody;
    if (!jobs.length) {
      body.className = 'jp-vrelab-Placeholder';
      setChildren(body, 'No jobs yet. Fits, transfers and workflows you start show up here.');
      return;
    }
    body.className = '';
    setChildren(
      body,
      h('ul', { class: 'jp-vrelab-List', 'aria-label': 'Jobs' }, jobs.map(job => renderJob(job, now)))
    );
  }
}

function errorKey(err) {
  return err ? `${err.code || ''}\u0000${err.message || err}` : '';
}

function sameError(a, b) {
  return errorKey(a) === errorKey(b);
}

/** One capability: a coloured dot, its name, a short state and its message. */
function renderCapability([name, cap]) {
  cap = cap || {};
  let kind;
  let label;
  if (!cap.enabled) {
    [kind, label] = ['off', 'off'];
  } else if (cap.reachable === true) {
    [kind, label] = ['ok', 'ready'];
  } else if (cap.reachable === false) {
    [kind, label] = ['error', 'unreachable'];
  } else {
    [kind, label] = ['on', 'on'];
  }
  return h(
    'li',
    { class: 'jp-vrelab-Item', dataset: { kind } },
    h(
      'div',
      { class: 'jp-vrelab-Row' },
      h('span', { class: 'jp-vrelab-Dot', 'aria-hidden': 'true' }),
      h('span', { class: 'jp-vrelab-Name' }, name),
      h('span', { class: 'jp-vrelab-Badge' }, label)
    ),
    cap.message ? h('div', { class: 'jp-vrelab-Message' }, cap.message) : null
  );
}

/** One job: kind and state, a progress bar, its message, id and age. */
function renderJob(job, now) {
  job = job || {};
  const kind = stateKind(job.state);
  const progress = job.progress || {};
  const bar = renderProgress(job);
  const id = String(job.id ?? '');
  const updated = job.updated ?? job.created;
  const failure = job.error && typeof job.error === 'object' && job.error.message ? job.error : null;
  return h(
    'li',
    { class: 'jp-vrelab-Item jp-vrelab-Job', dataset: { kind, jobId: id } },
    h(
      'div',
      { class: 'jp-vrelab-Row' },
      h('span', { class: 'jp-vrelab-Dot', 'aria-hidden': 'true' }),
      h('span', { class: 'jp-vrelab-Name', title: job.title || null }, job.title || job.kind || 'job'),
      h('span', { class: 'jp-vrelab-Badge' }, job.state || 'unknown')
    ),
    bar,
    progress.message ? h('div', { class: 'jp-vrelab-Message' }, progress.message) : null,
    failure ? h('div', { class: 'jp-vrelab-Message jp-vrelab-JobError' }, failure.message) : null,
    h(
      'div',
      { class: 'jp-vrelab-Meta' },
      h(
        'span',
        { class: 'jp-vrelab-Mono', title: id },
        job.title && job.kind ? `${job.kind} · ` : '',
        id.length > 12 ? `${id.slice(0, 8)}…` : id
      ),
      updated
        ? h(
            'span',
            {
              title:
                `created ${formatDateTime(job.created) || '?'}` +
                (job.updated ? `, updated ${formatDateTime(job.updated)}` : '')
            },
            `${job.updated ? 'updated' : 'created'} ${formatAge(updated, now)}`
          )
        : null
    )
  );
}

export { renderError };

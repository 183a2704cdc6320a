/**
 * The Workflows tab: your workflow runs (GET workflows) with their status;
 * a run opened shows each step's status, its logs and the run's output
 * files. Runs are jobs, so the job stream tells when one changes: the tab
 * re-reads that run (only while it is visible).
 */
import { apiUrl, requestAPI } from '../api.js';
import { h, setChildren } from '../dom.js';
import { formatAge, formatBytes, formatDateTime, stateKind } from '../format.js';
import { LiveTab } from '../live-tab.js';
import { button, ErrorSlot, jobHeader, notice, placeholder, renderProgress, section } from '../ui.js';

const LIMIT = 20;
const KINDS = new Set(['workflow.run', 'workflow.recast']);
const ACTIVE = new Set(['created', 'queued', 'running']);
const REFETCH_MS = 400; // coalesce bursts of events for one run
export const EXAMPLE_SPEC = 'reana.yaml';

const wf = id => `workflows/${encodeURIComponent(id)}`;

export class WorkflowsTab extends LiveTab {
  constructor({ app = null } = {}) {
    super();
    this.id = 'vrelab-workflows';
    this.title.label = 'Workflows';
    this.addClass('jp-vrelab-WorkflowsTab');
    this._app = app;
    this._runs = new Map(); // id -> run (with steps once opened)
    this._order = [];
    this._total = null;
    this._open = new Set();
    this._outputs = new Map(); // id -> outputs answer
    this._logs = new Map(); // `${id}\u0000${step}` -> logs answer (or null while loading)
    this._timers = new Map();
    this._slots = new Map();
    this._unavailable = false;
    this._errors = new ErrorSlot();
    this._streamErrors = new ErrorSlot();
    this._count = h('span', { class: 'jp-vrelab-Count' });
    this._list = h('div', { class: 'jp-vrelab-Runs' }, placeholder('Loading…'));
    this.node.append(
      section(h('span', {}, 'Workflow runs ', this._count), this._errors.node, this._streamErrors.node, this._list)
    );
  }

  dispose() {
    if (this.isDisposed) {
      return;
    }
    for (const t of this._timers.values()) {
      clearTimeout(t);
    }
    super.dispose();
  }

  reload() {
    return this._load();
  }

  onJob(job) {
    this._onJob(job);
  }

  /** No stream when this server has no workflows API. */
  wantsStream() {
    return !this._unavailable;
  }

  onLiveChange(_live, err) {
    this._streamErrors.show(err);
  }

  refresh() {
    this._unavailable = false;
    return super.refresh();
  }

  _slot(key) {
    let slot = this._slots.get(key);
    if (!slot) {
      slot = new ErrorSlot();
      this._slots.set(key, slot);
    }
    return slot;
  }

  async _load() {
    let answer;
    try {
      answer = await requestAPI('workflows', { query: { limit: LIMIT } });
    } catch (err) {
      if (err.status === 404 && err.code === 'http_404') {
        // no such route: this server's vrelab has no workflows
        this._unavailable = true;
        this.syncStream();
        this._errors.clear();
        this._count.textContent = '';
        setChildren(
          this._list,
          notice('Workflows are not available on this server: its vrelab has no workflows API.', 'warn')
        );
        return;
      }
      this._errors.show(err);
      return;
    }
    this._errors.clear();
    const runs = answer.workflows || [];
    this._total = Number.isFinite(answer.total) ? answer.total : runs.length;
    const next = new Map();
    for (const run of runs) {
      const old = this._runs.get(run.id);
      next.set(run.id, old && old.steps && !run.steps ? { ...run, steps: old.steps } : run);
    }
    this._runs = next;
    this._order = runs.map(r => r.id);
    this._render();
    for (const id of this._open) {
      if (this._runs.has(id)) {
        void this._fetchRun(id);
      }
    }
  }

  _onJob(job) {
    if (!KINDS.has(job.kind)) {
      return;
    }
    if (!this._runs.has(job.id)) {
      this._schedule('list', () => this._load());
      return;
    }
    this._schedule(job.id, () => this._fetchRun(job.id));
  }

  _schedule(key, fn) {
    if (this._timers.has(key)) {
      return;
    }
    this._timers.set(
      key,
      setTimeout(() => {
        this._timers.delete(key);
        void fn();
      }, REFETCH_MS)
    );
  }

  /** Re-read one run (with its steps), and its outputs when it is open and has ended. */
  async _fetchRun(id) {
    try {
      const run = await requestAPI(wf(id));
      this._runs.set(id, run);
      this._slot(id).clear();
      if (this._open.has(id) && !ACTIVE.has(run.status)) {
        this._outputs.set(id, await requestAPI(`${wf(id)}/outputs`));
      }
    } catch (err) {
      this._slot(id).show(err);
    }
    // refresh open logs of this run
    for (const key of [...this._logs.keys()]) {
      if (key.startsWith(`${id}\u0000`)) {
        void this._fetchLog(id, key.split('\u0000')[1], false);
      }
    }
    this._render();
  }

  async _fetchLog(id, step, render = true) {
    const key = `${id}\u0000${step}`;
    try {
      const answer = await requestAPI(`${wf(id)}/logs`, { query: { step } });
      this._logs.set(key, answer);
      this._slot(key).clear();
    } catch (err) {
      this._slot(key).show(err);
    }
    if (render) {
      this._render();
    }
  }

  _toggle(id) {
    if (this._open.has(id)) {
      this._open.delete(id);
    } else {
      this._open.add(id);
      void this._fetchRun(id);
    }
    this._render();
  }

  _toggleLog(id, step) {
    const key = `${id}\u0000${step}`;
    if (this._logs.has(key)) {
      this._logs.delete(key);
      this._render();
    } else {
      this._logs.set(key, null);
      this._render();
      void this._fetchLog(id, step);
    }
  }

  _render() {
    if (this._unavailable) {
      return;
    }
    const runs = this._order.map(id => this._runs.get(id)).filter(Boolean);
    const total = this._total ?? runs.length;
    this._count.textContent = total > runs.length ? `(${runs.length} of ${total})` : `(${runs.length})`;
    setChildren(
      this._list,
      runs.length
        ? h('ul', { class: 'jp-vrelab-List', 'aria-label': 'Workflow runs' }, runs.map(r => this._renderRun(r)))
        : placeholder([
            'No workflow runs yet. Submit one from a terminal with ',
            h('code', {}, `vrelab wf submit ${EXAMPLE_SPEC}`),
            ' (a path inside your home folder), or from a notebook with ',
            h('code', {}, `Client().workflows.submit(path="${EXAMPLE_SPEC}")`),
            '.'
          ])
    );
  }

  _renderRun(run) {
    const open = this._open.has(run.id);
    const p = run.progress || {};
    const asJob = { state: run.status, progress: { done: p.finished || 0, total: p.total || 0 } };
    const ended = run.finished_at ? `ended ${formatAge(run.finished_at)}` : run.created ? `created ${formatAge(run.created)}` : '';
    return h(
      'li',
      { class: 'jp-vrelab-Item jp-vrelab-Run', dataset: { kind: stateKind(run.status), runId: run.id } },
      h(
        'button',
        {
          type: 'button',
          class: 'jp-vrelab-RowButton',
          'aria-expanded': open ? 'true' : 'false',
          title: open ? 'Hide the steps' : 'Show the steps, logs and outputs',
          onClick: () => this._toggle(run.id)
        },
        jobHeader({ state: run.status }, run.name || run.id)
      ),
      p.total ? renderProgress(asJob) : null,
      run.message ? h('div', { class: `jp-vrelab-Message${run.status === 'failed' ? ' jp-vrelab-JobError' : ''}` }, run.message) : null,
      this._slot(run.id).node,
      open ? this._renderOpen(run) : null,
      h(
        'div',
        { class: 'jp-vrelab-Meta' },
        h('span', { class: 'jp-vrelab-Mono', title: run.id }, `${run.backend || '?'} · ${String(run.id).slice(0, 8)}`),
        h('span', { title: formatDateTime(run.finished_at || run.created) }, ended)
      )
    );
  }

  _renderOpen(run) {
    const steps = run.steps;
    const outputs = this._outputs.get(run.id);
    return h(
      'div',
      { class: 'jp-vrelab-RunDetails' },
      ACTIVE.has(run.status)
        ? h(
            'div',
            { class: 'jp-vrelab-ActionRow' },
            button(
              'Stop',
              async () => {
                try {
                  this._runs.set(run.id, await requestAPI(`${wf(run.id)}/stop`, { method: 'POST' }));
                  this._render();
                } catch (err) {
                  this._slot(run.id).show(err);
                }
              },
              { kind: 'small' }
            )
          )
        : null,
      run.recast && (run.recast.conclusion || run.recast.error)
        ? h(
            'div',
            { class: `jp-vrelab-Notice`, dataset: { kind: run.recast.error ? 'warn' : 'ok' } },
            run.recast.error || run.recast.conclusion
          )
        : null,
      steps
        ? h('ul', { class: 'jp-vrelab-List jp-vrelab-Steps', 'aria-label': 'Steps' }, steps.map(s => this._renderStep(run, s)))
        : placeholder('Loading the steps…'),
      outputs ? this._renderOutputs(run, outputs) : null
    );
  }

  _renderStep(run, step) {
    const key = `${run.id}\u0000${step.name}`;
    const logs = this._logs.get(key);
    const shown = this._logs.has(key);
    const took =
      step.started_at && step.finished_at
        ? `${((new Date(step.finished_at) - new Date(step.started_at)) / 1000).toFixed(1)} s`
        : '';
    const exit = step.exit_code !== null && step.exit_code !== undefined ? `exit ${step.exit_code}` : '';
    let logView = null;
    if (shown) {
      const entry = logs && (logs.steps || []).find(s => s.name === step.name);
      logView = logs
        ? h(
            'pre',
            { class: 'jp-vrelab-Log', 'aria-label': `Log of ${step.name}` },
            entry && entry.truncated ? '… (the start is cut; the full log is in the run folder)\n' : '',
            (entry && entry.logs) || '(no output)'
          )
        : placeholder('Loading the log…');
    }
    return h(
      'li',
      { class: 'jp-vrelab-Item jp-vrelab-Step', dataset: { kind: stateKind(step.status), step: step.name } },
      h(
        'div',
        { class: 'jp-vrelab-Row' },
        h('span', { class: 'jp-vrelab-Dot', 'aria-hidden': 'true' }),
        h('span', { class: 'jp-vrelab-Name', title: step.command || step.name }, step.name),
        h('span', { class: 'jp-vrelab-Badge' }, step.status)
      ),
      h(
        'div',
        { class: 'jp-vrelab-Meta' },
        h('span', {}, [exit, took].filter(Boolean).join(' · ')),
        button(shown ? 'Hide log' : 'Log', () => this._toggleLog(run.id, step.name), { kind: 'small' })
      ),
      step.message ? h('div', { class: 'jp-vrelab-Message' }, step.message) : null,
      this._slot(key).node,
      logView
    );
  }

  _renderOutputs(run, outputs) {
    const files = outputs.files || [];
    const missing = outputs.missing || [];
    return h(
      'div',
      { class: 'jp-vrelab-Outputs' },
      h('div', { class: 'jp-vrelab-SubTitle' }, `Outputs (${files.length})`),
      files.length
        ? h(
            'ul',
            { class: 'jp-vrelab-List', 'aria-label': 'Outputs' },
            files.map(f =>
              h(
                'li',
                { class: 'jp-vrelab-Item jp-vrelab-Output', dataset: { path: f.path } },
                h(
                  'div',
                  { class: 'jp-vrelab-Row' },
                  h(
                    'button',
                    {
                      type: 'button',
                      class: 'jp-vrelab-Link jp-vrelab-Name',
                      title: run.workspace ? `Open ${run.workspace}/${f.path}` : f.path,
                      onClick: () => this._openOutput(run, f)
                    },
                    f.declared ? h('strong', {}, f.path) : f.path
                  ),
                  h('span', { class: 'jp-vrelab-Size' }, formatBytes(f.size)),
                  h(
                    'a',
                    {
                      class: 'jp-vrelab-Link',
                      href: apiUrl(`${wf(run.id)}/outputs/${f.path.split('/').map(encodeURIComponent).join('/')}`),
                      download: f.path.split('/').pop(),
                      title: 'Download'
                    },
                    '⤓'
                  )
                )
              )
            )
          )
        : placeholder('No files.'),
      missing.length ? notice(`Declared but not produced: ${missing.join(', ')}`, 'warn') : null
    );
  }

  async _openOutput(run, file) {
    if (!this._app || !run.workspace) {
      return;
    }
    try {
      await this._app.commands.execute('docmanager:open', { path: `${run.workspace}/${file.path}` });
    } catch (err) {
      this._slot(run.id).show(`Could not open ${file.path}: ${(err && err.message) || err}`);
    }
  }
}

/**
 * Small pieces of UI shared by the tabs: error boxes, progress bars, buttons,
 * sections and key/value lists. All built with `h`, styled by base.css.
 */
import { h, setChildren } from './dom.js';
import { progressFraction, stateKind } from './format.js';

const RUNNING = new Set(['running', 'started']); // an indeterminate bar when no total is known

/** A readable error box: the message, then the code, status and details. */
export function renderError(err) {
  const details = err.details && typeof err.details === 'object' ? Object.entries(err.details) : [];
  const facts = [err.code, err.status ? `HTTP ${err.status}` : null].filter(Boolean).join(' · ');
  return h(
    'div',
    { class: 'jp-vrelab-Error', role: 'alert' },
    h('div', { class: 'jp-vrelab-ErrorMessage' }, String(err.message || err)),
    facts ? h('div', { class: 'jp-vrelab-ErrorFacts' }, facts) : null,
    details.length
      ? h(
          'details',
          { class: 'jp-vrelab-ErrorDetails' },
          h('summary', {}, 'Details'),
          h(
            'dl',
            {},
            details.map(([k, v]) => [h('dt', {}, k), h('dd', {}, typeof v === 'string' ? v : JSON.stringify(v))])
          )
        )
      : null
  );
}

function errorKey(err) {
  return err ? `${err.code || ''}\u0000${err.message || err}` : '';
}

/**
 * A place in a panel where one error at a time is shown (or none). Showing
 * the same error again does not re-announce it to screen readers.
 */
export class ErrorSlot {
  constructor() {
    this.node = h('div', { class: 'jp-vrelab-ErrorSlot', 'aria-live': 'polite' });
    this._key = '';
  }

  /** Show `err` (a VrelabAPIError, an Error or a string), or clear with null. */
  show(err) {
    if (err && err.name === 'AbortError') {
      return;
    }
    const key = errorKey(err);
    if (key === this._key) {
      return;
    }
    this._key = key;
    setChildren(this.node, err ? renderError(err) : null);
  }

  clear() {
    this.show(null);
  }
}

/** A button; `busy` while its (async) handler runs, so a click is not repeated. */
export function button(label, onClick, { title, kind, disabled, className } = {}) {
  const el = h(
    'button',
    {
      type: 'button',
      class: ['jp-vrelab-Button', kind ? `jp-mod-${kind}` : null, className],
      title,
      disabled: disabled || null
    },
    label
  );
  el.addEventListener('click', async event => {
    if (el.disabled) {
      return;
    }
    el.disabled = true;
    el.classList.add('jp-mod-busy');
    try {
      await onClick(event);
    } finally {
      el.disabled = false;
      el.classList.remove('jp-mod-busy');
    }
  });
  return el;
}

/** A titled section of a tab. */
export function section(title, ...children) {
  return h(
    'section',
    { class: 'jp-vrelab-Section', 'aria-label': typeof title === 'string' ? title : null },
    title ? h('h3', { class: 'jp-vrelab-SectionTitle' }, title) : null,
    ...children
  );
}

/** A two-column list of facts; entries whose value is null/undefined/'' are left out. */
export function facts(entries, { label } = {}) {
  const kept = entries.filter(([, v]) => v !== null && v !== undefined && v !== '');
  return h(
    'dl',
    { class: 'jp-vrelab-Facts', 'aria-label': label || null },
    kept.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v instanceof Node ? v : String(v))])
  );
}

/** A grey, italic one-liner (loading, nothing found...): text, or text and nodes. */
export function placeholder(content) {
  return h('div', { class: 'jp-vrelab-Placeholder' }, content);
}

/** A notice in the panel (info by default, or `warn`/`ok`). */
export function notice(text, kind = 'info') {
  return h('div', { class: 'jp-vrelab-Notice', dataset: { kind }, role: 'status' }, text);
}

/**
 * A job's progress bar: determinate when done/total are known, sliding when
 * it runs without a total, nothing otherwise. `format` writes done and total
 * (e.g. as bytes).
 */
export function renderProgress(job, { format = String } = {}) {
  const progress = (job && job.progress) || {};
  const fraction = progressFraction(progress);
  if (fraction !== null) {
    const pct = Math.round(fraction * 100);
    return h(
      'div',
      { class: 'jp-vrelab-ProgressRow' },
      h(
        'div',
        {
          class: 'jp-vrelab-Progress',
          role: 'progressbar',
          'aria-valuemin': '0',
          'aria-valuemax': '100',
          'aria-valuenow': String(pct)
        },
        h('div', { class: 'jp-vrelab-ProgressBar', style: { width: `${pct}%` } })
      ),
      h('span', { class: 'jp-vrelab-ProgressText' }, `${format(progress.done)}/${format(progress.total)}`)
    );
  }
  if (RUNNING.has(String((job && job.state) || '').toLowerCase())) {
    return h(
      'div',
      { class: 'jp-vrelab-ProgressRow' },
      h(
        'div',
        { class: 'jp-vrelab-Progress jp-mod-indeterminate', role: 'progressbar' },
        h('div', { class: 'jp-vrelab-ProgressBar' })
      )
    );
  }
  return null;
}

/** The coloured state badge row of a job: dot, label, state. */
export function jobHeader(job, label) {
  return h(
    'div',
    { class: 'jp-vrelab-Row' },
    h('span', { class: 'jp-vrelab-Dot', 'aria-hidden': 'true' }),
    h('span', { class: 'jp-vrelab-Name', title: label }, label),
    h('span', { class: 'jp-vrelab-Badge jp-vrelab-State' }, job.state || 'unknown')
  );
}

/** `data-kind` for a job state (ok | busy | error | warn | unknown). */
export { stateKind };

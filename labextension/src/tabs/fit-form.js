/**
 * The Fits tab's form: pick a stored workspace and a patch (the server's own
 * lists, `GET fit/workspaces` and `GET fit/workspaces/{id}/patches`), what to
 * run (a fit, CLs, an upper limit or a scan of every patch) and start it as
 * a job (`POST jobs`).
 */
import { requestAPI } from '../api.js';
import { h, setChildren } from '../dom.js';
import { submitJob } from '../jobs.js';
import { button, ErrorSlot, notice } from '../ui.js';

/** A name short enough for a select in the narrowest sidebar (the whole name is the option's title). */
const LABEL_CHARS = 18;
function shortLabel(name) {
  const text = String(name || '');
  if (text.length <= LABEL_CHARS) {
    return text;
  }
  const head = Math.ceil((LABEL_CHARS - 1) / 2);
  const tail = LABEL_CHARS - 1 - head;
  return `${text.slice(0, head)}…${text.slice(text.length - tail)}`;
}

export const ACTIONS = [
  ['fit.hypotest', 'CLs (hypothesis test)'],
  ['fit.limit', 'Upper limit'],
  ['fit.scan', 'Scan every patch'],
  ['fit.mle', 'Best fit']
];
const NO_PATCH = '';
const PAGE = 1000; // the server's largest page

const ws = (id) => `fit/workspaces/${encodeURIComponent(id)}`;

/** A labelled field: the label above the control, both as wide as the form. */
function field(label, control, hint = null) {
  const id = control.id || `jp-vrelab-fit-${label.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  control.id = id;
  return h(
    'div',
    { class: 'jp-vrelab-Field' },
    h('label', { class: 'jp-vrelab-Label', for: id }, label),
    control,
    hint ? h('div', { class: 'jp-vrelab-Hint' }, hint) : null
  );
}

export class FitForm {
  /**
   * @param {object} options
   * @param {(job: object) => void} options.onSubmitted - the queued job record
   */
  constructor({ onSubmitted }) {
    this._onSubmitted = onSubmitted;
    this._workspaces = [];
    this._errors = new ErrorSlot();
    this._workspace = h('select', {
      class: 'jp-vrelab-Select jp-vrelab-FitWorkspace',
      onChange: () => void this._loadPatches()
    });
    this._patch = h('select', { class: 'jp-vrelab-Select jp-vrelab-FitPatch' });
    this._action = h(
      'select',
      { class: 'jp-vrelab-Select jp-vrelab-FitAction', onChange: () => this._showOptions() },
      ACTIONS.map(([value, label]) => h('option', { value }, label))
    );
    this._poiValue = h('input', {
      class: 'jp-vrelab-Input jp-vrelab-FitPoiValue',
      type: 'number',
      step: 'any',
      value: '1'
    });
    this._level = h('input', {
      class: 'jp-vrelab-Input jp-vrelab-FitLevel',
      type: 'number',
      step: 'any',
      min: '0',
      max: '1',
      value: '0.05'
    });
    this._testStat = h(
      'select',
      { class: 'jp-vrelab-Select' },
      h('option', { value: 'qtilde' }, 'q̃μ (qtilde)'),
      h('option', { value: 'q' }, 'qμ (q)')
    );
    this._fixTau = h('input', {
      class: 'jp-vrelab-Input',
      type: 'text',
      inputmode: 'decimal',
      spellcheck: 'false',
      placeholder: 'e.g. 1e8'
    });
    this._poiField = field('POI value', this._poiValue, 'The signal strength tested.');
    this._levelField = field('CLs level', this._level, 'Excluded where CLs < level (0.05: 95% CL).');
    this._patchField = field('Patch', this._patch);
    this._runButton = button('Run', () => this._submit(), { kind: 'accept', className: 'jp-vrelab-FitRun' });
    this._empty = h('div');
    this.node = h(
      'form',
      {
        class: 'jp-vrelab-Form jp-vrelab-FitForm',
        'aria-label': 'Start a fit',
        onSubmit: (event) => {
          event.preventDefault();
          this._runButton.click();
        }
      },
      this._errors.node,
      this._empty,
      field('Workspace', this._workspace),
      this._patchField,
      field('Run', this._action),
      this._poiField,
      this._levelField,
      h(
        'details',
        { class: 'jp-vrelab-More' },
        h('summary', {}, 'More options'),
        field('Test statistic', this._testStat),
        field('Fix shapesys γ with τ above', this._fixTau, 'Empty: fit every γ.')
      ),
      h('div', { class: 'jp-vrelab-ActionRow' }, this._runButton)
    );
    this._showOptions();
  }

  /** Read the stored workspaces again (keeping the choice). */
  async load() {
    const keep = this._workspace.value;
    let answer;
    try {
      answer = await requestAPI('fit/workspaces', { query: { limit: 100 } });
    } catch (err) {
      this._errors.show(err);
      return;
    }
    this._errors.clear();
    this._workspaces = answer.workspaces || [];
    if (!this._workspaces.length) {
      setChildren(
        this._empty,
        notice(
          [
            'No stored workspace yet. Add one from a notebook (',
            h('code', {}, 'Client().fit.add(path=…)'),
            ', the FitPanel) or a terminal (',
            h('code', {}, 'vrelab fit add PATH'),
            '), then refresh.'
          ],
          'info'
        )
      );
    } else {
      setChildren(this._empty);
    }
    setChildren(
      this._workspace,
      this._workspaces.map((w) =>
        h(
          'option',
          {
            value: w.id,
            selected: w.id === keep || null,
            title: `${w.name} · ${w.n_patches} patches (${w.id.slice(0, 12)})`
          },
          shortLabel(w.name)
        )
      )
    );
    this._runButton.disabled = !this._workspaces.length;
    if (this._workspace.value !== keep || !this._patch.options.length) {
      await this._loadPatches();
    }
  }

  async _loadPatches() {
    const id = this._workspace.value;
    setChildren(
      this._patch,
      h('option', { value: NO_PATCH, title: 'The workspace as stored, no patch applied' }, '(no patch)')
    );
    if (!id) {
      return;
    }
    try {
      const answer = await requestAPI(`${ws(id)}/patches`, { query: { limit: PAGE } });
      if (this._workspace.value !== id) {
        return;
      }
      const patches = answer.patches || [];
      this._patch.append(...patches.map((p) => h('option', { value: p.name }, p.name)));
      if (patches.length) {
        this._patch.value = patches[0].name;
      }
      this._errors.clear();
    } catch (err) {
      this._errors.show(err);
    }
  }

  _showOptions() {
    const kind = this._action.value;
    this._poiField.hidden = !(kind === 'fit.hypotest' || kind === 'fit.scan');
    this._levelField.hidden = !(kind === 'fit.limit' || kind === 'fit.scan');
    this._patchField.hidden = kind === 'fit.scan';
  }

  /** The job's kind and parameters from the form; throws a readable Error on bad input. */
  params() {
    const kind = this._action.value;
    const workspaceId = this._workspace.value;
    if (!workspaceId) {
      throw new Error('Choose a stored workspace first.');
    }
    const params = { workspace_id: workspaceId };
    if (kind !== 'fit.scan' && this._patch.value !== NO_PATCH) {
      params.patch = this._patch.value;
    }
    if (kind === 'fit.hypotest' || kind === 'fit.scan') {
      const value = Number(this._poiValue.value);
      if (this._poiValue.value.trim() === '' || !Number.isFinite(value)) {
        throw new Error('The POI value is a number (e.g. 1 for the nominal signal).');
      }
      params.poi_value = value;
    }
    if (kind === 'fit.limit' || kind === 'fit.scan') {
      const level = Number(this._level.value);
      if (!(level > 0 && level < 1)) {
        throw new Error('The CLs level is a number between 0 and 1 (0.05 for 95% CL).');
      }
      params.level = level;
    }
    if (kind !== 'fit.mle') {
      params.test_stat = this._testStat.value;
    }
    const tau = this._fixTau.value.trim();
    if (tau) {
      const value = Number(tau);
      if (!Number.isFinite(value) || value <= 0) {
        throw new Error(`"Fix shapesys γ with τ above" is a positive number such as 1e8, not ${JSON.stringify(tau)}.`);
      }
      params.fix_shapesys_tau_above = value;
    }
    return { kind, params };
  }

  async _submit() {
    let request;
    try {
      request = this.params();
    } catch (err) {
      this._errors.show(err.message);
      return;
    }
    try {
      const job = await submitJob(request.kind, request.params);
      this._errors.clear();
      this._onSubmitted(job);
    } catch (err) {
      this._errors.show(err);
    }
  }
}

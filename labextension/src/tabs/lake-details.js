/**
 * One DID in detail: its facts and metadata, its files, where its replicas
 * are (per RSE), the rules that keep them, and what you can do with it:
 * download it into the file browser's folder, make it available on an RSE,
 * or copy the code that opens it in a notebook.
 */
import { Clipboard } from '@jupyterlab/apputils';

import { h, setChildren } from '../dom.js';
import { formatBytes, formatDateTime } from '../format.js';
import { button, ErrorSlot, facts, notice, placeholder, section } from '../ui.js';
import { lakeAPI } from './lake-api.js';

const PAGE = 20;

/**
 * The notebook code that gives local paths of a DID: `lake.open` for a file
 * (one path, for `uproot.open`), `lake.paths` for a dataset or container.
 *
 * @param {string} did
 * @param {string|null} type - FILE, DATASET, CONTAINER
 * @param {object|null} instance - a record of GET lake/instances (named when not the default)
 */
export function openSnippet(did, type = 'FILE', instance = null) {
  const where = instance && !instance.default ? `, instance=${JSON.stringify(instance.name)}` : '';
  return type === 'FILE' || !type
    ? `from vrelab import lake\npath = lake.open(${JSON.stringify(did)}${where})`
    : `from vrelab import lake\npaths = lake.paths(${JSON.stringify(did)}${where})`;
}

export class DIDDetails {
  /**
   * @param {object} options
   * @param {object} options.instance - a record of GET lake/instances
   * @param {string} options.did - scope:name
   * @param {() => string} options.folder - the file browser's current folder
   * @param {(did: string) => Promise<void>} options.onDownload - start a download
   * @param {() => void} options.onBack - back to the results
   */
  constructor({ instance, did, folder, onDownload, onBack }) {
    this.instance = instance;
    this.did = did;
    this._folder = folder;
    this._onDownload = onDownload;
    this._abort = new AbortController();
    this._errors = new ErrorSlot();
    this._body = h('div', { class: 'jp-vrelab-DetailsBody' }, placeholder('Loading…'));
    this.node = h(
      'div',
      { class: 'jp-vrelab-Details', dataset: { did } },
      h(
        'div',
        { class: 'jp-vrelab-DetailsHeader' },
        button('‹ Results', onBack, { kind: 'small', title: 'Back to the search results' }),
        h('span', { class: 'jp-vrelab-DIDName jp-vrelab-Mono', title: did }, did)
      ),
      this._errors.node,
      this._body
    );
  }

  dispose() {
    this._abort.abort();
  }

  /** Read everything shown; each part that fails says so in its own place. */
  async load() {
    const name = this.instance.name;
    const signal = this._abort.signal;
    let info;
    try {
      info = await lakeAPI.did(name, this.did, { signal });
    } catch (err) {
      this._errors.show(err);
      setChildren(this._body);
      return;
    }
    this.info = info;
    const collection = info.type === 'DATASET' || info.type === 'CONTAINER';
    const [replicas, rules, children] = await Promise.allSettled([
      lakeAPI.replicas(name, this.did, { limit: 1 }, { signal }),
      lakeAPI.rules(name, this.did, { limit: PAGE }, { signal }),
      collection ? lakeAPI.children(name, this.did, { limit: PAGE }, { signal }) : Promise.resolve(null)
    ]);
    if (signal.aborted) {
      return;
    }
    this._errors.clear();
    this._rulesSlot = h('div', { class: 'jp-vrelab-Rules' });
    this._renderRules(rules);
    setChildren(
      this._body,
      this._renderFacts(info),
      this._renderActions(info),
      collection ? this._renderChildren(children) : null,
      this._renderReplicas(replicas),
      section('Rules', this._rulesSlot)
    );
  }

  _renderFacts(info) {
    const meta = Object.entries(info.metadata || {}).filter(([, v]) => v !== null && v !== '');
    return section(
      null,
      facts(
        [
          ['Type', info.type ? info.type.toLowerCase() : 'unknown'],
          ['Size', formatBytes(info.bytes)],
          ['Files', info.length],
          ['Events', info.events],
          ['Owner', info.account],
          ['adler32', info.checksums && info.checksums.adler32],
          ['Created', formatDateTime(info.created_at)],
          ['Expires', formatDateTime(info.expires_at)]
        ],
        { label: 'DID facts' }
      ),
      meta.length
        ? h(
            'details',
            { class: 'jp-vrelab-Metadata', open: meta.length <= 8 },
            h('summary', {}, `Metadata (${meta.length})`),
            facts(
              meta.map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : v]),
              { label: 'Metadata' }
            )
          )
        : null
    );
  }

  _renderActions(info) {
    const status = h('div', { class: 'jp-vrelab-ActionStatus', 'aria-live': 'polite' });
    const errors = new ErrorSlot();
    const folderLabel = () => `/${this._folder() || ''}`;
    const download = button(
      'Download',
      async () => {
        errors.clear();
        setChildren(status);
        try {
          await this._onDownload(this.did);
          setChildren(status, notice(`Download started into ${folderLabel()}: see Downloads below.`));
        } catch (err) {
          errors.show(err);
        }
      },
      { kind: 'accept', title: 'Copy the files into the folder the file browser shows' }
    );
    download.classList.add('jp-vrelab-Download');
    download.addEventListener('mouseenter', () => (download.title = `Download into ${folderLabel()}`));

    // make available on an RSE
    const rseSelect = h('select', { class: 'jp-vrelab-Select', id: 'jp-vrelab-rule-rse' });
    const lifetime = h('input', {
      class: 'jp-vrelab-Input',
      id: 'jp-vrelab-rule-lifetime',
      type: 'number',
      min: '0',
      step: 'any',
      title: 'Lifetime in days (empty: none)',
      value: this.instance.rule_lifetime_days ?? ''
    });
    const rseHint = h('div', { class: 'jp-vrelab-Hint', 'aria-live': 'polite' });
    void this._fillRSEs(rseSelect, rseHint, errors);
    const makeAvailable = button(
      'Make available',
      async () => {
        errors.clear();
        setChildren(status);
        const days = lifetime.value.trim() === '' ? null : Number(lifetime.value);
        if (days !== null && !(days > 0)) {
          errors.show('The lifetime is a number of days above 0 (or empty for none).');
          return;
        }
        if (!rseSelect.value) {
          errors.show('Choose the RSE the data should be on.');
          return;
        }
        try {
          const rule = await lakeAPI.addRule(this.instance.name, {
            did: this.did,
            rse_expression: rseSelect.value,
            lifetime_days: days
          });
          setChildren(status, notice(`Rule ${rule.id.slice(0, 8)}… on ${rule.rse_expression}: ${rule.state}.`, 'ok'));
          await this._reloadRules();
        } catch (err) {
          errors.show(err);
        }
      },
      { title: 'Add a replication rule: Rucio copies the data there and keeps it' }
    );

    // the code that opens the DID in a notebook
    const snippet = openSnippet(this.did, info.type, this.instance);
    const copy = button(
      'Copy code',
      () => {
        Clipboard.copyToSystem(snippet);
        setChildren(status, notice('Code copied: paste it into a notebook cell.', 'ok'));
      },
      { title: 'Copy the Python code that opens this DID in a notebook' }
    );

    return section(
      'Actions',
      errors.node,
      h('div', { class: 'jp-vrelab-ActionRow' }, download, copy),
      h(
        'div',
        { class: 'jp-vrelab-Form jp-vrelab-RuleForm' },
        h(
          'div',
          { class: 'jp-vrelab-Field' },
          h('label', { class: 'jp-vrelab-Label', for: 'jp-vrelab-rule-rse' }, 'Make available on the RSE'),
          rseSelect,
          rseHint
        ),
        h(
          'div',
          { class: 'jp-vrelab-Field' },
          h('label', { class: 'jp-vrelab-Label', for: 'jp-vrelab-rule-lifetime' }, 'Lifetime in days (empty: kept until removed)'),
          lifetime
        ),
        makeAvailable
      ),
      h('pre', { class: 'jp-vrelab-Snippet', 'aria-label': 'Notebook code' }, snippet),
      status
    );
  }

  async _fillRSEs(select, hint, errors) {
    try {
      const answer = await lakeAPI.rses(this.instance.name, { signal: this._abort.signal });
      const preferred = this.instance.destination_rse;
      const free = new Map();
      const options = (answer.rses || []).map(r => {
        const left = r.quota ? r.quota.remaining_bytes : null;
        if (left !== null && left !== undefined) {
          free.set(r.rse, `${formatBytes(left)} of your quota free there`);
        }
        return h('option', { value: r.rse, selected: r.rse === preferred || null }, r.rse);
      });
      setChildren(select, options.length ? options : h('option', { value: '' }, 'no RSE'));
      const showFree = () => setChildren(hint, free.get(select.value) || '');
      select.addEventListener('change', showFree);
      showFree();
    } catch (err) {
      setChildren(select, h('option', { value: '' }, 'RSEs unavailable'));
      errors.show(err);
    }
  }

  _renderChildren(result) {
    const list = h('ul', { class: 'jp-vrelab-List jp-vrelab-Files', 'aria-label': 'Contents' });
    const slot = h('div');
    const count = h('span', { class: 'jp-vrelab-Count' });
    const errors = new ErrorSlot();
    let shown = 0;
    const scope = `${this.did.split(':')[0]}:`;
    const addPage = page => {
      for (const c of page.items || []) {
        list.append(
          h(
            'li',
            { class: 'jp-vrelab-Item jp-vrelab-File' },
            h(
              'div',
              { class: 'jp-vrelab-Row' },
              h('span', { class: 'jp-vrelab-TypeTag' }, (c.type || '?').slice(0, 1)),
              h('span', { class: 'jp-vrelab-Name', title: c.did }, c.did.startsWith(scope) ? c.did.slice(scope.length) : c.did),
              h('span', { class: 'jp-vrelab-Size' }, formatBytes(c.bytes))
            )
          )
        );
      }
      shown += (page.items || []).length;
      count.textContent = page.has_more ? `(first ${shown})` : `(${shown})`;
      setChildren(
        slot,
        page.has_more
          ? button('Show more', async () => {
              try {
                addPage(
                  await lakeAPI.children(this.instance.name, this.did, { limit: PAGE, offset: shown }, {
                    signal: this._abort.signal
                  })
                );
              } catch (err) {
                errors.show(err);
              }
            }, { kind: 'small' })
          : null
      );
    };
    if (result.status === 'rejected') {
      errors.show(result.reason);
    } else {
      addPage(result.value);
      if (!shown) {
        list.append(h('li', { class: 'jp-vrelab-Placeholder' }, 'Empty.'));
      }
    }
    return section(h('span', {}, 'Contents ', count), errors.node, list, slot);
  }

  _renderReplicas(result) {
    if (result.status === 'rejected') {
      const errors = new ErrorSlot();
      errors.show(result.reason);
      return section('Replicas', errors.node);
    }
    const answer = result.value || {};
    const rses = answer.rses || [];
    const total = answer.files;
    const rows = rses.map(r => {
      const kind = r.complete ? 'ok' : r.available ? 'busy' : 'warn';
      const states = Object.entries(r.states || {})
        .filter(([s]) => s !== 'AVAILABLE')
        .map(([s, n]) => `${n} ${s.toLowerCase()}`)
        .join(', ');
      return h(
        'tr',
        { class: 'jp-vrelab-Replica', dataset: { kind, rse: r.rse } },
        h('td', {}, h('span', { class: 'jp-vrelab-Dot', 'aria-hidden': 'true' }), ' ', r.rse),
        h('td', { class: 'jp-vrelab-Num', title: formatBytes(r.bytes) }, `${r.available}/${total ?? r.files}`),
        h('td', {}, r.complete ? 'complete' : states || 'partial')
      );
    });
    return section(
      'Replicas per RSE',
      rows.length
        ? h(
            'table',
            { class: 'jp-vrelab-Table', 'aria-label': 'Replicas per RSE' },
            h('thead', {}, h('tr', {}, h('th', {}, 'RSE'), h('th', {}, 'files'), h('th', {}, 'state'))),
            h('tbody', {}, rows)
          )
        : placeholder('No replicas: the data is on no storage element.'),
      answer.truncated ? notice('Counted over the first files only: the DID has more files than vrelab scans at once.', 'warn') : null
    );
  }

  async _reloadRules() {
    const result = await Promise.allSettled([
      lakeAPI.rules(this.instance.name, this.did, { limit: PAGE }, { signal: this._abort.signal })
    ]);
    this._renderRules(result[0]);
  }

  _renderRules(result) {
    if (result.status === 'rejected') {
      const errors = new ErrorSlot();
      errors.show(result.reason);
      setChildren(this._rulesSlot, errors.node);
      return;
    }
    const page = result.value || {};
    const rules = page.items || [];
    setChildren(
      this._rulesSlot,
      rules.length
        ? h(
            'ul',
            { class: 'jp-vrelab-List', 'aria-label': 'Rules' },
            rules.map(r => {
              const state = String(r.state || '');
              const kind = state === 'OK' ? 'ok' : state === 'STUCK' ? 'error' : state === 'REPLICATING' ? 'busy' : 'warn';
              const locks = r.locks || {};
              return h(
                'li',
                { class: 'jp-vrelab-Item jp-vrelab-Rule', dataset: { kind, ruleId: r.id } },
                h(
                  'div',
                  { class: 'jp-vrelab-Row' },
                  h('span', { class: 'jp-vrelab-Dot', 'aria-hidden': 'true' }),
                  h('span', { class: 'jp-vrelab-Name', title: r.rse_expression }, r.rse_expression),
                  h('span', { class: 'jp-vrelab-Badge' }, state || '?')
                ),
                h(
                  'div',
                  { class: 'jp-vrelab-Meta' },
                  h('span', {}, `${r.account} · ${r.copies} cop${r.copies === 1 ? 'y' : 'ies'}`),
                  h(
                    'span',
                    { title: r.expires_at ? formatDateTime(r.expires_at) : 'no expiry' },
                    r.expires_at ? `expires ${formatDateTime(r.expires_at)}` : 'no expiry'
                  )
                ),
                locks.replicating || locks.stuck
                  ? h(
                      'div',
                      { class: 'jp-vrelab-Message' },
                      `${locks.ok} ok, ${locks.replicating} replicating, ${locks.stuck} stuck`
                    )
                  : null,
                r.error ? h('div', { class: 'jp-vrelab-Message jp-vrelab-JobError' }, r.error) : null
              );
            })
          )
        : placeholder('No rules: nothing keeps this data on any RSE.'),
      page.has_more ? notice('More rules exist than are shown here.') : null
    );
  }
}

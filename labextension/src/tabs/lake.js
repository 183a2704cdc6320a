/**
 * The Data lake tab: pick a Rucio instance and log in, search DIDs, page
 * through the results, open one (lake-details.js), and follow downloads as
 * jobs (`lake.download`) on the live job stream.
 */
import { requestAPI } from '../api.js';
import { h, setChildren } from '../dom.js';
import { formatBytes } from '../format.js';
import { isFinished, JobStore, submitJob } from '../jobs.js';
import { LiveTab } from '../live-tab.js';
import { currentFolder } from '../notebook.js';
import { button, ErrorSlot, jobHeader, notice, placeholder, renderProgress, section, stateKind } from '../ui.js';
import { DIDDetails } from './lake-details.js';
import { lakeAPI } from './lake-api.js';
import { toPattern } from './lake-pattern.js';
import { renderLogin } from './lake-login.js';

const PAGE = 20;
const DOWNLOAD_KIND = 'lake.download';
const TYPES = ['all', 'container', 'dataset', 'file'];

export class LakeTab extends LiveTab {
  /**
   * @param {object} context
   * @param {object} [context.fileBrowser] - the default file browser (downloads go to its folder)
   */
  constructor({ fileBrowser = null } = {}) {
    super();
    this.id = 'vrelab-lake';
    this.title.label = 'Data lake';
    this.addClass('jp-vrelab-LakeTab');
    this._fileBrowser = fileBrowser;
    this._instances = [];
    this._instance = null; // the chosen record
    this._whoami = null;
    this._scopes = [];
    this._search = null; // {pattern, type, offset}
    this._details = null;
    this._loaded = false;
    this._abort = null;
    this._downloads = new JobStore(job => job.kind === DOWNLOAD_KIND);

    this._instanceErrors = new ErrorSlot();
    this._instanceSelect = h('select', {
      class: 'jp-vrelab-Select',
      'aria-label': 'Data-lake instance',
      onChange: () => void this._chooseInstance(this._instanceSelect.value)
    });
    this._loginSlot = h('div', { class: 'jp-vrelab-LoginSlot' }, placeholder('Loading…'));

    this._scopeList = h('datalist', { id: 'jp-vrelab-scopes' });
    this._patternInput = h('input', {
      class: 'jp-vrelab-Input jp-vrelab-Pattern',
      type: 'search',
      id: 'jp-vrelab-pattern',
      placeholder: 'scope:name*',
      title: 'scope:name with * as wildcard, e.g. ATLAS_OD_EDU:GamGam*; a scope alone for all of it',
      list: 'jp-vrelab-scopes',
      spellcheck: 'false',
      onKeydown: event => {
        if (event.key === 'Enter') {
          event.preventDefault();
          this._searchButton.click();
        }
      }
    });
    this._typeSelect = h(
      'select',
      { class: 'jp-vrelab-Select', 'aria-label': 'DID type' },
      TYPES.map(t => h('option', { value: t }, t === 'all' ? 'all types' : `${t}s`))
    );
    this._searchButton = button('Search', () => this._startSearch(), { kind: 'accept' });
    this._searchErrors = new ErrorSlot();
    this._results = h('div', { class: 'jp-vrelab-Results' });

    this._downloadErrors = new ErrorSlot();
    this._streamErrors = new ErrorSlot();
    this._downloadList = h('ul', { class: 'jp-vrelab-List jp-vrelab-Downloads', 'aria-label': 'Downloads' });
    this._downloadSection = section('Downloads', this._downloadErrors.node, this._streamErrors.node, this._downloadList);
    this._downloadSection.hidden = true;

    this.node.append(
      section(
        'Instance',
        this._instanceErrors.node,
        h('div', { class: 'jp-vrelab-ActionRow' }, this._instanceSelect),
        this._loginSlot
      ),
      section(
        'Search',
        h('label', { class: 'jp-vrelab-Label', for: 'jp-vrelab-pattern' }, 'DIDs matching, e.g. ATLAS_OD_EDU:GamGam*'),
        h(
          'div',
          { class: 'jp-vrelab-SearchRow' },
          this._patternInput,
          this._scopeList,
          this._typeSelect,
          this._searchButton
        ),
        this._searchErrors.node,
        this._results
      ),
      this._downloadSection
    );
  }

  dispose() {
    if (this.isDisposed) {
      return;
    }
    if (this._details) {
      this._details.dispose();
    }
    if (this._abort) {
      this._abort.abort();
    }
    super.dispose();
  }

  onAfterShow(msg) {
    if (!this._loaded) {
      this._loaded = true;
      void this._loadInstances();
    }
    super.onAfterShow(msg);
  }

  /** Shown again, or the stream (re)connected: the downloads may have moved on. */
  reload() {
    return this._loadDownloads();
  }

  onJob(job) {
    this._onJob(job);
  }

  /** Stream job events only while a download is under way. */
  wantsStream() {
    return this._downloads.list().some(j => !isFinished(j));
  }

  onLiveChange(_live, err) {
    this._streamErrors.show(err);
  }

  /** The refresh button: who you are, the search or the DID shown, the downloads. */
  async refresh() {
    await this._loadInstances(this._instance ? this._instance.name : null);
    await this._loadDownloads();
  }

  // ---- instances and login ------------------------------------------------

  async _loadInstances(keep = null) {
    try {
      const answer = await lakeAPI.instances();
      this._instances = answer.instances || [];
      this._instanceErrors.clear();
    } catch (err) {
      this._instanceErrors.show(err);
      setChildren(this._loginSlot);
      return;
    }
    if (!this._instances.length) {
      setChildren(
        this._loginSlot,
        notice('No data lake is configured on this server (VRELab.lake_instances, or `vrelab lake up`).', 'warn')
      );
      setChildren(this._instanceSelect);
      return;
    }
    const chosen =
      this._instances.find(i => i.name === keep) || this._instances.find(i => i.default) || this._instances[0];
    setChildren(
      this._instanceSelect,
      this._instances.map(i =>
        h('option', { value: i.name, selected: i.name === chosen.name || null }, i.display_name || i.name)
      )
    );
    this._instanceSelect.disabled = this._instances.length < 2;
    await this._chooseInstance(chosen.name, { keepView: chosen.name === keep });
  }

  async _chooseInstance(name, { keepView = false } = {}) {
    const instance = this._instances.find(i => i.name === name);
    if (!instance) {
      return;
    }
    const changed = !this._instance || this._instance.name !== name;
    this._instance = instance;
    this._whoami = null;
    this._renderLogin();
    if (changed || !keepView) {
      this._closeDetails();
      this._search = null;
      setChildren(this._results);
    }
    if (!instance.logged_in) {
      this._setSearchEnabled(false);
      return;
    }
    this._setSearchEnabled(true);
    const [who, scopes] = await Promise.allSettled([lakeAPI.whoami(name), lakeAPI.scopes(name)]);
    if (this._instance !== instance) {
      return;
    }
    if (who.status === 'fulfilled') {
      this._whoami = who.value;
      this._instanceErrors.clear();
    } else {
      this._instanceErrors.show(who.reason);
    }
    this._renderLogin();
    if (scopes.status === 'fulfilled') {
      this._scopes = scopes.value.scopes || [];
      setChildren(
        this._scopeList,
        this._scopes.map(s => h('option', { value: `${s}:*` }))
      );
    }
    if (keepView) {
      if (this._details) {
        await this._details.load();
      } else if (this._search) {
        await this._runSearch();
      }
    }
  }

  _renderLogin() {
    const instance = this._instance;
    setChildren(
      this._loginSlot,
      renderLogin(instance, {
        whoami: this._whoami,
        onChange: () => this._loadInstances(instance.name)
      }),
      instance.rucio_host ? h('div', { class: 'jp-vrelab-Meta' }, h('span', { class: 'jp-vrelab-Mono' }, instance.rucio_host)) : null
    );
  }

  _setSearchEnabled(on) {
    for (const el of [this._patternInput, this._typeSelect, this._searchButton]) {
      el.disabled = !on;
    }
  }

  // ---- search and results -------------------------------------------------

  async _startSearch() {
    const pattern = toPattern(this._patternInput.value);
    if (!pattern) {
      this._searchErrors.show(
        'Write scope:name, with * as wildcard (e.g. ATLAS_OD_EDU:GamGam*), or a scope name alone for all of it.'
      );
      return;
    }
    this._closeDetails();
    this._search = { pattern, type: this._typeSelect.value, offset: 0 };
    await this._runSearch();
  }

  async _runSearch() {
    const search = this._search;
    const instance = this._instance;
    if (!search || !instance) {
      return;
    }
    if (this._abort) {
      this._abort.abort();
    }
    const abort = (this._abort = new AbortController());
    this.node.classList.add('jp-mod-busy');
    let page;
    try {
      page = await lakeAPI.search(
        instance.name,
        { pattern: search.pattern, type: search.type, limit: PAGE, offset: search.offset },
        { signal: abort.signal }
      );
      this._searchErrors.clear();
    } catch (err) {
      if (!abort.signal.aborted) {
        this._searchErrors.show(err);
        setChildren(this._results);
      }
      return;
    } finally {
      if (this._abort === abort) {
        this.node.classList.remove('jp-mod-busy');
      }
    }
    if (abort.signal.aborted || this._search !== search) {
      return;
    }
    this._renderResults(page, search);
  }

  _renderResults(page, search) {
    const items = page.items || [];
    const first = search.offset + 1;
    const last = search.offset + items.length;
    let summary;
    if (!items.length) {
      summary = search.offset ? 'No more matches.' : `Nothing matches ${search.pattern}.`;
    } else if (Number.isFinite(page.total)) {
      summary = `${first}–${last} of ${page.total}`;
    } else {
      summary = page.has_more ? `${first}–${last}, more follow` : `${first}–${last} of ${last}`;
    }
    const pager = h(
      'div',
      { class: 'jp-vrelab-Pager' },
      button(
        '‹ Previous',
        async () => {
          this._search = { ...search, offset: Math.max(0, search.offset - PAGE) };
          await this._runSearch();
        },
        { kind: 'small', disabled: search.offset === 0 }
      ),
      h('span', { class: 'jp-vrelab-PagerText', role: 'status' }, summary),
      button(
        'Next ›',
        async () => {
          this._search = { ...search, offset: search.offset + PAGE };
          await this._runSearch();
        },
        { kind: 'small', disabled: !page.has_more }
      )
    );
    setChildren(
      this._results,
      page.truncated
        ? notice(
            `Only the first ${page.scan_limit || 'many'} matches were read: there are more. Narrow the pattern to see them all.`,
            'warn'
          )
        : null,
      items.length
        ? h(
            'ul',
            { class: 'jp-vrelab-List jp-vrelab-DIDList', 'aria-label': 'Matching DIDs' },
            items.map(item => this._renderResult(item))
          )
        : placeholder(summary),
      items.length || search.offset ? pager : null
    );
  }

  _renderResult(item) {
    const type = String(item.type || '?');
    const size = [item.length !== null && item.length !== undefined ? `${item.length} files` : null, formatBytes(item.bytes)]
      .filter(Boolean)
      .join(' · ');
    return h(
      'li',
      { class: 'jp-vrelab-Item jp-vrelab-DID', dataset: { did: item.did, type } },
      h(
        'button',
        {
          type: 'button',
          class: 'jp-vrelab-RowButton',
          title: `Open ${item.did}`,
          onClick: () => void this._openDetails(item.did)
        },
        h('span', { class: 'jp-vrelab-TypeTag', title: type.toLowerCase() }, type.slice(0, 1)),
        h('span', { class: 'jp-vrelab-Name' }, item.name || item.did),
        h('span', { class: 'jp-vrelab-Size' }, size)
      )
    );
  }

  // ---- details --------------------------------------------------------------

  async _openDetails(did) {
    this._closeDetails();
    const details = (this._details = new DIDDetails({
      instance: this._instance,
      did,
      folder: () => currentFolder(this._fileBrowser),
      onDownload: d => this._download(d),
      onBack: () => {
        this._closeDetails();
        void this._runSearch();
      }
    }));
    setChildren(this._results, details.node);
    await details.load();
  }

  _closeDetails() {
    if (this._details) {
      this._details.dispose();
      this._details = null;
    }
  }

  // ---- downloads ---------------------------------------------------------------

  async _download(did) {
    const job = await submitJob(DOWNLOAD_KIND, {
      instance: this._instance.name,
      dids: [did],
      dest: currentFolder(this._fileBrowser)
    });
    this._onJob(job);
  }

  async _loadDownloads() {
    try {
      const answer = await requestAPI('jobs', { query: { kind: DOWNLOAD_KIND, limit: 5 } });
      for (const job of answer.jobs || []) {
        this._onJob(job);
      }
      this._downloadErrors.clear();
    } catch (err) {
      this._downloadErrors.show(err);
    }
    this._renderDownloads();
    this.syncStream();
  }

  _onJob(job) {
    if (job.kind !== DOWNLOAD_KIND) {
      return;
    }
    const before = this._downloads.get(job.id);
    if (!this._downloads.update(job)) {
      return;
    }
    if (isFinished(job) && before && !isFinished(before) && job.state === 'succeeded') {
      this._refreshFileBrowser();
    }
    this._renderDownloads();
    this.syncStream();
  }

  _refreshFileBrowser() {
    const model = this._fileBrowser && this._fileBrowser.model;
    if (model) {
      void model.refresh().catch(() => undefined);
    }
  }

  _renderDownloads() {
    const jobs = this._downloads.list().slice(0, 5);
    this._downloadSection.hidden = !jobs.length;
    setChildren(
      this._downloadList,
      jobs.map(job => {
        const params = job.params || {};
        const dids = Array.isArray(params.dids) ? params.dids : [];
        const label = dids.length === 1 ? dids[0] : job.title || `${dids.length} DIDs`;
        const dest = params.dest !== undefined ? `/${params.dest || ''}` : '';
        const failure = job.error && job.error.message;
        const progress = job.progress || {};
        return h(
          'li',
          { class: 'jp-vrelab-Item jp-vrelab-Job', dataset: { kind: stateKind(job.state), jobId: job.id } },
          jobHeader(job, label),
          renderProgress(job, { format: formatBytes }),
          progress.message && !isFinished(job) ? h('div', { class: 'jp-vrelab-Message' }, progress.message) : null,
          job.state === 'succeeded' ? h('div', { class: 'jp-vrelab-Message' }, `Done: in ${dest}`) : null,
          failure ? h('div', { class: 'jp-vrelab-Message jp-vrelab-JobError' }, failure) : null
        );
      })
    );
  }
}

/**
 * The vrelab sidebar: a header (title, refresh) over a strip of tabs.
 *
 * A tab is any Lumino `Widget` with a unique `id` and a `title.label`; it may
 * define `refresh()` (called by the refresh button while the tab is shown).
 * Tabs are laid out with plain CSS (flex); a tab that needs a Lumino layout
 * sizes itself inside its own node.
 */
import { PanelLayout, Widget } from '@lumino/widgets';
import { refreshIcon } from '@jupyterlab/ui-components';

import { h } from './dom.js';
import { vrelabIcon } from './icon.js';

export class VrelabSidebar extends Widget {
  constructor() {
    super();
    this.id = 'vrelab-sidebar';
    this.addClass('jp-vrelab-Sidebar');
    this.title.icon = vrelabIcon;
    this.title.caption = 'vrelab: particle-physics workbench';

    this._tabs = []; // [{widget, rank, button}]
    this._current = null;

    this._strip = h('div', {
      class: 'jp-vrelab-TabStrip',
      role: 'tablist',
      'aria-label': 'vrelab views',
      onKeydown: event => this._onStripKey(event)
    });
    const refreshButton = h(
      'button',
      {
        type: 'button',
        class: 'jp-vrelab-IconButton',
        title: 'Refresh',
        'aria-label': 'Refresh',
        onClick: () => void this.refresh()
      },
      refreshIcon.element({ tag: 'span', elementPosition: 'center', height: '16px', width: '16px' })
    );
    const header = new Widget({
      node: h(
        'div',
        { class: 'jp-vrelab-Header' },
        h(
          'div',
          { class: 'jp-vrelab-TitleRow' },
          vrelabIcon.element({ tag: 'span', className: 'jp-vrelab-Logo', height: '16px', width: '16px' }),
          h('h2', { class: 'jp-vrelab-Title' }, 'vrelab'),
          refreshButton
        ),
        this._strip
      )
    });
    const layout = (this.layout = new PanelLayout());
    layout.addWidget(header);
  }

  /** The tab widgets, in order. */
  get tabs() {
    return this._tabs.map(t => t.widget);
  }

  /** The tab on show. */
  get currentTab() {
    return this._current ? this._current.widget : null;
  }

  /**
   * Add a tab. Tabs are ordered by rank (smaller first); the first tab added
   * is shown.
   */
  addTab(widget, { rank = 100 } = {}) {
    widget.addClass('jp-vrelab-TabContent');
    widget.node.setAttribute('role', 'tabpanel');
    const button = h(
      'button',
      {
        type: 'button',
        class: 'jp-vrelab-Tab',
        role: 'tab',
        id: `${widget.id}-tab`,
        'aria-controls': widget.id,
        'aria-selected': 'false',
        tabindex: '-1',
        onClick: () => this.activateTab(widget.id)
      },
      widget.title.label || widget.id
    );
    widget.node.setAttribute('aria-labelledby', button.id);
    const entry = { widget, rank, button };
    let index = this._tabs.findIndex(t => t.rank > rank);
    if (index < 0) {
      index = this._tabs.length;
    }
    this._tabs.splice(index, 0, entry);
    this._strip.insertBefore(button, this._strip.children[index] || null);
    widget.hide();
    this.layout.addWidget(widget);
    widget.disposed.connect(() => this._removeTab(widget));
    if (!this._current) {
      this.activateTab(widget.id);
    }
    return widget;
  }

  /** Show the tab with this id (hiding the others). */
  activateTab(id) {
    const entry = this._tabs.find(t => t.widget.id === id);
    if (!entry || entry === this._current) {
      return;
    }
    for (const t of this._tabs) {
      const on = t === entry;
      t.button.classList.toggle('jp-mod-current', on);
      t.button.setAttribute('aria-selected', on ? 'true' : 'false');
      t.button.setAttribute('tabindex', on ? '0' : '-1');
      if (on) {
        t.widget.show();
      } else {
        t.widget.hide();
      }
    }
    this._current = entry;
  }

  /** Refresh the tab on show. */
  async refresh() {
    const tab = this.currentTab;
    if (tab && typeof tab.refresh === 'function') {
      await tab.refresh();
    }
  }

  _removeTab(widget) {
    const index = this._tabs.findIndex(t => t.widget === widget);
    if (index < 0) {
      return;
    }
    const [entry] = this._tabs.splice(index, 1);
    entry.button.remove();
    if (this._current === entry) {
      this._current = null;
      if (this._tabs.length) {
        this.activateTab(this._tabs[Math.min(index, this._tabs.length - 1)].widget.id);
      }
    }
  }

  _onStripKey(event) {
    const moves = { ArrowRight: 1, ArrowLeft: -1, Home: -Infinity, End: Infinity };
    if (!(event.key in moves) || !this._tabs.length) {
      return;
    }
    event.preventDefault();
    const last = this._tabs.length - 1;
    const at = this._current ? this._tabs.indexOf(this._current) : 0;
    const step = moves[event.key];
    const to = Number.isFinite(step) ? (at + step + last + 1) % (last + 1) : step < 0 ? 0 : last;
    const entry = this._tabs[to];
    this.activateTab(entry.widget.id);
    entry.button.focus();
  }
}

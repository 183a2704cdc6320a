/**
 * vrelab's JupyterLab plugin: the sidebar in the left area, and its commands.
 */
import { ILayoutRestorer } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';

import { vrelabIcon } from './icon.js';
import { VrelabSidebar } from './panel.js';
import { TABS } from './tabs/index.js';

export const CommandIDs = {
  open: 'vrelab:open-sidebar',
  refresh: 'vrelab:refresh',
  showTab: 'vrelab:show-tab'
};

const sidebarPlugin = {
  id: 'vrelab:sidebar',
  description: 'The vrelab sidebar: server status and jobs, the data lake, fits and workflows.',
  autoStart: true,
  optional: [ILayoutRestorer, ICommandPalette, IDefaultFileBrowser],
  activate: (app, restorer, palette, fileBrowser) => {
    const sidebar = new VrelabSidebar();
    for (const tab of TABS) {
      sidebar.addTab(tab.create({ app, fileBrowser: fileBrowser || null }), { rank: tab.rank });
    }
    app.shell.add(sidebar, 'left', { rank: 650 });
    if (restorer) {
      restorer.add(sidebar, sidebar.id);
    }

    app.commands.addCommand(CommandIDs.open, {
      label: 'Show the vrelab Sidebar',
      icon: vrelabIcon,
      execute: () => app.shell.activateById(sidebar.id)
    });
    app.commands.addCommand(CommandIDs.showTab, {
      label: args => `Show the vrelab ${args.tab || ''} Tab`,
      execute: args => {
        app.shell.activateById(sidebar.id);
        sidebar.activateTab(`vrelab-${args.tab}`);
      }
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh the vrelab Sidebar',
      execute: () => sidebar.refresh()
    });
    if (palette) {
      palette.addItem({ command: CommandIDs.open, category: 'vrelab' });
      palette.addItem({ command: CommandIDs.refresh, category: 'vrelab' });
      for (const tab of ['status', 'lake', 'fits', 'workflows']) {
        palette.addItem({ command: CommandIDs.showTab, args: { tab }, category: 'vrelab' });
      }
    }
    return sidebar;
  }
};

export default [sidebarPlugin];

/**
 * vrelab's JupyterLab plugin: the sidebar in the left area, and two commands.
 */
import { ILayoutRestorer } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';

import { vrelabIcon } from './icon.js';
import { VrelabSidebar } from './panel.js';
import { TABS } from './tabs/index.js';

export const CommandIDs = {
  open: 'vrelab:open-sidebar',
  refresh: 'vrelab:refresh'
};

const sidebarPlugin = {
  id: 'vrelab:sidebar',
  description: 'The vrelab sidebar: server status, recent jobs, and (later) data lake, fits, workflows.',
  autoStart: true,
  optional: [ILayoutRestorer, ICommandPalette],
  activate: (app, restorer, palette) => {
    const sidebar = new VrelabSidebar();
    for (const tab of TABS) {
      sidebar.addTab(tab.create({ app }), { rank: tab.rank });
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
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh the vrelab Sidebar',
      execute: () => sidebar.refresh()
    });
    if (palette) {
      for (const command of Object.values(CommandIDs)) {
        palette.addItem({ command, category: 'vrelab' });
      }
    }
    return sidebar;
  }
};

export default [sidebarPlugin];

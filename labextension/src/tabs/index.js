/**
 * The tabs of the vrelab sidebar, in one list: a tab is a module in this
 * folder plus one entry here.
 *
 * `create(context)` returns a Lumino Widget with an `id`, a `title.label`
 * and, optionally, `refresh()`; `context` holds `{ app, fileBrowser }`
 * (`fileBrowser` is JupyterLab's default file browser, or null).
 */
import { FitsTab } from './fits.js';
import { LakeTab } from './lake.js';
import { StatusTab } from './status.js';
import { WorkflowsTab } from './workflows.js';

export const TABS = [
  { rank: 10, create: () => new StatusTab() },
  { rank: 20, create: context => new LakeTab(context) },
  { rank: 30, create: context => new FitsTab(context) },
  { rank: 40, create: context => new WorkflowsTab(context) }
];

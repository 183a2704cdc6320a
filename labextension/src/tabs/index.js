/**
 * The tabs of the vrelab sidebar, in one list: a later tab (Data lake, Fits,
 * Workflows) is a module in this folder plus one entry here.
 *
 * `create(context)` returns a Lumino Widget with an `id`, a `title.label`
 * and, optionally, `refresh()`; `context` holds `{ app }`.
 */
import { StatusTab } from './status.js';

export const TABS = [{ rank: 10, create: () => new StatusTab() }];

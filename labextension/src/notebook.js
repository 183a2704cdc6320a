/**
 * Open a new notebook with given code cells, in the file browser's current
 * folder, through JupyterLab's document manager.
 */

/** The folder the file browser shows, relative to the server root ('' = the root). */
export function currentFolder(fileBrowser) {
  return fileBrowser && fileBrowser.model ? fileBrowser.model.path || '' : '';
}

/**
 * Create an untitled notebook in `folder` holding `cells` (code strings) and
 * open it. Resolves with the new notebook's path.
 *
 * @param {object} app - the JupyterFrontEnd
 * @param {string[]} cells - the code of each cell
 * @param {string} [folder]
 */
export async function openNotebookWith(app, cells, folder = '') {
  const contents = app.serviceManager.contents;
  const model = await app.commands.execute('docmanager:new-untitled', { path: folder, type: 'notebook' });
  const specs = app.serviceManager.kernelspecs.specs || { default: 'python3', kernelspecs: {} };
  const kernelName = specs.default || 'python3';
  const spec = (specs.kernelspecs || {})[kernelName];
  const displayName = (spec && spec.display_name) || kernelName;
  const nb = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: kernelName, display_name: displayName, language: 'python' },
      language_info: { name: 'python' }
    },
    cells: cells.map((source, i) => ({
      cell_type: 'code',
      id: `vrelab-${i}`,
      metadata: {},
      source,
      outputs: [],
      execution_count: null
    }))
  };
  await contents.save(model.path, { type: 'notebook', format: 'json', content: nb });
  await app.commands.execute('docmanager:open', { path: model.path, factory: 'Notebook' });
  return model.path;
}

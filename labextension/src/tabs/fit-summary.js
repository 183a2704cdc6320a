/**
 * One line (or a few) saying what a fit job found: CLs values, a limit, the
 * counts of a scan, a best fit. Read from the job's result (openapi/fit.yaml,
 * vrelab/fit/results.py).
 */
import { h } from '../dom.js';
import { formatNumber as num } from '../format.js';
import { facts } from '../ui.js';

function band(values, lo = 1, hi = 3) {
  if (!Array.isArray(values) || values.length < 5) {
    return null;
  }
  return `${num(values[lo])} – ${num(values[hi])}`;
}

const percent = (level) => `${Math.round((1 - level) * 100)}% CL`;
const levelOf = (r) => (Number.isFinite(r.level) ? r.level : 0.05);

/**
 * Facts of a result, per kind: short keys and short values, so that they
 * read well in a sidebar a few hundred pixels wide. An unknown kind shows
 * its top-level numbers.
 */
export function summaryEntries(kind, result) {
  const r = result || {};
  const level = levelOf(r);
  switch (kind) {
    case 'fit.hypotest': {
      const exp = Array.isArray(r.CLs_exp) ? r.CLs_exp : null;
      return [
        [r.poi || 'POI', num(r.poi_value)],
        ['CLs observed', num(r.CLs_obs)],
        ['CLs expected', exp ? num(exp[2]) : null],
        ['±1σ', band(exp)],
        ['±2σ', band(exp, 0, 4)],
        ['Excluded', Number.isFinite(r.CLs_obs) ? `${r.CLs_obs < 0.05 ? 'yes' : 'no'}, at 95% CL` : null],
        ['Test statistic', r.test_stat ? [r.test_stat, r.calctype].filter(Boolean).join(', ') : null]
      ];
    }
    case 'fit.limit': {
      const exp = Array.isArray(r.exp_limits) ? r.exp_limits : null;
      return [
        ['Observed limit', num(r.obs_limit)],
        ['Expected limit', exp ? num(exp[2]) : null],
        ['±1σ', band(exp)],
        ['±2σ', band(exp, 0, 4)],
        ['Level', percent(level)],
        ['POI', r.poi],
        ['Method', Array.isArray(r.poi_values) ? `${r.method || '?'}, ${r.poi_values.length} points` : r.method]
      ];
    }
    case 'fit.scan': {
      const points = Array.isArray(r.points) ? r.points : [];
      const excluded = points.filter((p) => Number.isFinite(p.CLs_obs) && p.CLs_obs < level).length;
      return [
        ['Points', r.n_points],
        ['Excluded', points.length ? `${excluded} of ${points.length} (${percent(level)})` : null],
        [
          'Failed',
          r.n_failed ? `${r.n_failed}: ${(r.failed || []).slice(0, 3).join(', ')}${r.n_failed > 3 ? '…' : ''}` : 0
        ],
        ['Cached', r.n_cached],
        ['Contours', Array.isArray(r.contours) ? r.contours.length : null],
        ['Ran on', r.executor ? `${r.executor}${r.workers > 0 ? `, ${r.workers} workers` : ''}` : null]
      ];
    }
    case 'fit.mle':
      return [
        [
          `${r.poi || 'POI'} best fit`,
          Number.isFinite(r.poi_bestfit) ? `${num(r.poi_bestfit)} ± ${num(r.poi_uncertainty)}` : null
        ],
        ['−2 ln L', num(r.twice_nll)],
        ['Parameters', Array.isArray(r.labels) ? r.labels.length : null],
        ['Pulls', Array.isArray(r.pulls) ? r.pulls.length : null]
      ];
    default:
      return Object.entries(r)
        .filter(([, v]) => typeof v === 'number' || typeof v === 'string')
        .slice(0, 8);
  }
}

/** The one number a finished job is known by, for its row in the list ("" when none). */
export function headline(kind, result) {
  const r = result || {};
  switch (kind) {
    case 'fit.hypotest':
      return Number.isFinite(r.CLs_obs) ? `CLs ${num(r.CLs_obs, 3)}${r.CLs_obs < 0.05 ? ' · excluded' : ''}` : '';
    case 'fit.limit':
      return Number.isFinite(r.obs_limit) ? `${r.poi || 'POI'} < ${num(r.obs_limit, 3)} (${percent(levelOf(r))})` : '';
    case 'fit.scan': {
      const points = Array.isArray(r.points) ? r.points : [];
      const excluded = points.filter((p) => Number.isFinite(p.CLs_obs) && p.CLs_obs < levelOf(r)).length;
      return points.length ? `${excluded} of ${points.length} points excluded` : '';
    }
    case 'fit.mle':
      return Number.isFinite(r.poi_bestfit)
        ? `${r.poi || 'POI'} = ${num(r.poi_bestfit, 3)} ± ${num(r.poi_uncertainty, 2)}`
        : '';
    default:
      return '';
  }
}

/** The summary of a finished fit job, with where it came from. */
export function renderSummary(job) {
  const r = job.result || {};
  const where = [
    r.patch ? `patch ${r.patch}` : null,
    r.cached ? 'from the cache' : null,
    Number.isFinite(r.wall_seconds) ? `${num(r.wall_seconds, 3)} s` : null
  ]
    .filter(Boolean)
    .join(' · ');
  return h(
    'div',
    { class: 'jp-vrelab-FitSummary' },
    facts(summaryEntries(job.kind, r), { label: 'Result' }),
    where ? h('div', { class: 'jp-vrelab-Meta' }, h('span', {}, where)) : null
  );
}

/**
 * The notebook cells that show a job's result again through vrelab's client
 * and its FitPanel widget (the table and the full plots).
 */
export function notebookCells(job) {
  const params = job.params || {};
  const cells = [
    [
      '# The result of a vrelab fit job, as the sidebar showed it',
      'from vrelab.client import Client',
      '',
      'client = Client()',
      `job = client.job(${JSON.stringify(job.id)})`,
      'result = job["result"]',
      'print(job["kind"], job["state"], job.get("title", ""))'
    ].join('\n'),
    [
      '# The same result in the FitPanel: its table and plots (and the controls to run it again)',
      'from vrelab.widgets import FitPanel',
      '',
      params.workspace_id
        ? `panel = FitPanel(client, workspace=${JSON.stringify(params.workspace_id)})`
        : 'panel = FitPanel(client)',
      'panel.show_result(result, job["kind"])',
      'panel'
    ].join('\n')
  ];
  return cells;
}

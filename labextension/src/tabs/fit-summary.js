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
    return '';
  }
  return `[${num(values[lo])}, ${num(values[hi])}]`;
}

/** Facts of a result, per kind; an unknown kind shows its top-level numbers. */
export function summaryEntries(kind, result) {
  const r = result || {};
  const level = Number.isFinite(r.level) ? r.level : 0.05;
  const cl = `${Math.round((1 - level) * 100)}% CL`;
  switch (kind) {
    case 'fit.hypotest': {
      const excluded = Number.isFinite(r.CLs_obs) ? (r.CLs_obs < 0.05 ? 'yes, at 95% CL' : 'no, at 95% CL') : null;
      return [
        [`Tested ${r.poi || 'POI'}`, num(r.poi_value)],
        ['CLs observed', num(r.CLs_obs)],
        ['CLs expected', Array.isArray(r.CLs_exp) ? `${num(r.CLs_exp[2])} ±1σ ${band(r.CLs_exp)}` : null],
        ['Excluded', excluded],
        ['Test statistic', r.test_stat ? `${r.test_stat}, ${r.calctype || ''}` : null]
      ];
    }
    case 'fit.limit':
      return [
        [`Observed limit${r.poi ? ` on ${r.poi}` : ''} (${cl})`, num(r.obs_limit)],
        [
          'Expected limit',
          Array.isArray(r.exp_limits) ? `${num(r.exp_limits[2])} ±1σ ${band(r.exp_limits)} ±2σ ${band(r.exp_limits, 0, 4)}` : null
        ],
        ['Method', r.method],
        ['POI points', Array.isArray(r.poi_values) ? r.poi_values.length : null]
      ];
    case 'fit.scan': {
      const points = Array.isArray(r.points) ? r.points : [];
      const excluded = points.filter(p => Number.isFinite(p.CLs_obs) && p.CLs_obs < level).length;
      return [
        ['Points', r.n_points],
        [`Tested ${r.poi || 'POI'}`, num(r.poi_value)],
        [`Excluded (${cl})`, points.length ? `${excluded} of ${points.length}` : null],
        ['Failed', r.n_failed ? `${r.n_failed}: ${(r.failed || []).slice(0, 5).join(', ')}${r.n_failed > 5 ? '…' : ''}` : 0],
        ['From the cache', r.n_cached],
        ['Contours', Array.isArray(r.contours) ? r.contours.length : null],
        ['Ran on', r.executor ? `${r.executor}${r.workers > 0 ? `, ${r.workers} workers` : ''}` : null]
      ];
    }
    case 'fit.mle':
      return [
        [`Best-fit ${r.poi || 'POI'}`, Number.isFinite(r.poi_bestfit) ? `${num(r.poi_bestfit)} ± ${num(r.poi_uncertainty)}` : null],
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

/** The notebook cells that load a job's result. */
export function notebookCells(job) {
  return [
    [
      '# The result of a vrelab job, as the sidebar showed it',
      'from vrelab.client import Client',
      '',
      `job = Client().job(${JSON.stringify(job.id)})`,
      'result = job["result"]',
      'print(job["kind"], job["state"], job.get("title", ""))',
      'result'
    ].join('\n')
  ];
}

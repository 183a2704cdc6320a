// The sidebar's pure helpers, run by `node --test labextension/test/` (tests/browser/test_sidebar_helpers.py).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatBytes, formatNumber, progressFraction, stateKind } from '../src/format.js';
import { JobStore } from '../src/jobs.js';
import { parseSSE } from '../src/sse.js';
import { headline, notebookCells, summaryEntries } from '../src/tabs/fit-summary.js';
import { toPattern } from '../src/tabs/lake-pattern.js';

test('parseSSE keeps an event cut between two chunks for the next chunk', () => {
  const job = { type: 'job', job: { id: 'a', state: 'running' } };
  const text = `: stream of job events\n\nevent: job\ndata: ${JSON.stringify(job)}\n\n: keep-alive\n\n`;
  const cut = text.indexOf('data:') + 10;
  const first = parseSSE(text.slice(0, cut));
  assert.deepEqual(first.events, []);
  const second = parseSSE(first.rest + text.slice(cut));
  assert.equal(second.events.length, 1);
  assert.equal(second.events[0].event, 'job');
  assert.deepEqual(JSON.parse(second.events[0].data), job);
  assert.equal(second.rest, '');
});

test('parseSSE joins multi-line data and reads CRLF streams', () => {
  const { events } = parseSSE('event: x\r\ndata: one\r\ndata: two\r\n\r\ndata:three\n\n');
  assert.deepEqual(events, [
    { event: 'x', data: 'one\ntwo' },
    { event: 'message', data: 'three' }
  ]);
});

test('toPattern: a bare scope means all of it; nonsense is refused before asking the server', () => {
  assert.equal(toPattern('ATLAS_OD_EDU'), 'ATLAS_OD_EDU:*');
  assert.equal(toPattern(' ATLAS_OD_EDU:GamGam* '), 'ATLAS_OD_EDU:GamGam*');
  assert.equal(toPattern('ATLAS_OD_EDU:'), 'ATLAS_OD_EDU:*');
  assert.equal(toPattern('GamGam*'), null);
  assert.equal(toPattern(''), null);
});

test('formatBytes and formatNumber', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(52600), '52.6 kB');
  assert.equal(formatBytes(5.4e9), '5.4 GB');
  assert.equal(formatBytes(512e6), '512.0 MB'); // one decimal always, as vrelab.units.format_bytes
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(null), '');
  assert.equal(formatNumber(0.0811234), '0.08112');
  assert.equal(formatNumber(0.0000123), '1.230e-5');
  assert.equal(formatNumber(null), '–');
  assert.equal(progressFraction({ done: 1, total: 4 }), 0.25);
  assert.equal(stateKind('finished'), 'ok');
});

test('JobStore keeps the newest record and a fetched result', () => {
  const store = new JobStore(j => j.kind.startsWith('fit.'));
  assert.equal(store.update({ id: 'a', kind: 'lake.download', updated: 1 }), false);
  assert.ok(store.update({ id: 'a', kind: 'fit.hypotest', state: 'succeeded', updated: 2, created: 1, result: { CLs_obs: 0.1 } }));
  assert.equal(store.update({ id: 'a', kind: 'fit.hypotest', state: 'running', updated: 1, created: 1 }), false);
  assert.ok(store.update({ id: 'a', kind: 'fit.hypotest', state: 'succeeded', updated: 3, created: 1 }));
  assert.deepEqual(store.get('a').result, { CLs_obs: 0.1 });
  store.update({ id: 'b', kind: 'fit.scan', updated: 1, created: 5 });
  assert.deepEqual(store.list().map(j => j.id), ['b', 'a']);
});

test('fit summaries read the result of each kind, in short keys and values', () => {
  const hypo = Object.fromEntries(
    summaryEntries('fit.hypotest', { poi_value: 1, CLs_obs: 0.03, CLs_exp: [0.01, 0.02, 0.04, 0.08, 0.15] })
  );
  assert.equal(hypo['CLs observed'], '0.03');
  assert.equal(hypo['CLs expected'], '0.04');
  assert.equal(hypo['±1σ'], '0.02 – 0.08');
  assert.equal(hypo['±2σ'], '0.01 – 0.15');
  assert.equal(hypo.Excluded, 'yes, at 95% CL');
  const limit = Object.fromEntries(
    summaryEntries('fit.limit', { poi: 'mu_SIG', level: 0.05, obs_limit: 1.5, exp_limits: [0.5, 0.8, 1.1, 1.6, 2.2] })
  );
  assert.equal(limit['Observed limit'], '1.5');
  assert.equal(limit['Expected limit'], '1.1');
  assert.equal(limit['±2σ'], '0.5 – 2.2');
  assert.equal(limit.Level, '95% CL');
  assert.equal(limit.POI, 'mu_SIG');
  const tested = Object.fromEntries(summaryEntries('fit.hypotest', { poi: 'mu_SIG', poi_value: 1, CLs_obs: 0.2 }));
  assert.equal(tested.mu_SIG, '1');
  assert.equal(tested.Excluded, 'no, at 95% CL');
  const scanResult = {
    level: 0.05,
    n_points: 3,
    n_failed: 1,
    failed: ['p3'],
    n_cached: 0,
    contours: [],
    points: [{ CLs_obs: 0.01 }, { CLs_obs: 0.5 }, { CLs_obs: null }]
  };
  const scan = Object.fromEntries(summaryEntries('fit.scan', scanResult));
  assert.equal(scan.Excluded, '1 of 3 (95% CL)');
  assert.equal(scan.Failed, '1: p3');
  // every key is short enough for the sidebar's key column
  for (const [key] of [...summaryEntries('fit.limit', {}), ...summaryEntries('fit.scan', scanResult)]) {
    assert.ok(key.length <= 16, key);
  }
});

test('a finished fit job has a headline number for its row in the list', () => {
  assert.equal(headline('fit.hypotest', { CLs_obs: 0.0312 }), 'CLs 0.0312 · excluded');
  assert.equal(headline('fit.hypotest', { CLs_obs: 0.2 }), 'CLs 0.2');
  assert.equal(headline('fit.limit', { poi: 'mu_SIG', obs_limit: 1.23456, level: 0.05 }), 'mu_SIG < 1.23 (95% CL)');
  assert.equal(headline('fit.scan', { points: [{ CLs_obs: 0.01 }, { CLs_obs: 0.5 }] }), '1 of 2 points excluded');
  assert.equal(headline('fit.mle', { poi: 'mu', poi_bestfit: 0.81, poi_uncertainty: 0.234 }), 'mu = 0.81 ± 0.23');
  assert.equal(headline('fit.limit', {}), '');
});

test('the notebook of a fit job loads it through the client and shows it in the FitPanel', () => {
  const [load, panel] = notebookCells({ id: 'abc', kind: 'fit.limit', params: { workspace_id: 'w1' } });
  assert.match(load, /client = Client\(\)/);
  assert.match(load, /job = client\.job\("abc"\)/);
  assert.match(panel, /FitPanel\(client, workspace="w1"\)/);
  assert.match(panel, /panel\.show_result\(result, job\["kind"\]\)/);
});

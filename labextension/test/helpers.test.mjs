// The sidebar's pure helpers, run by `node --test labextension/test/` (tests/browser/test_sidebar_helpers.py).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatBytes, formatNumber, progressFraction, stateKind } from '../src/format.js';
import { JobStore } from '../src/jobs.js';
import { parseSSE } from '../src/sse.js';
import { notebookCells, summaryEntries } from '../src/tabs/fit-summary.js';
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

test('fit summaries read the result of each kind', () => {
  const hypo = Object.fromEntries(
    summaryEntries('fit.hypotest', { poi_value: 1, CLs_obs: 0.03, CLs_exp: [0.01, 0.02, 0.04, 0.08, 0.15] })
  );
  assert.equal(hypo['CLs observed'], '0.03');
  assert.equal(hypo['CLs expected'], '0.04 ±1σ [0.02, 0.08]');
  assert.equal(hypo.Excluded, 'yes, at 95% CL');
  const limit = Object.fromEntries(
    summaryEntries('fit.limit', { level: 0.05, obs_limit: 1.5, exp_limits: [0.5, 0.8, 1.1, 1.6, 2.2] })
  );
  assert.equal(limit['Observed limit (95% CL)'], '1.5');
  const named = Object.fromEntries(summaryEntries('fit.limit', { poi: 'mu_SIG', obs_limit: 1.5 }));
  assert.equal(named['Observed limit on mu_SIG (95% CL)'], '1.5');
  const tested = Object.fromEntries(summaryEntries('fit.hypotest', { poi: 'mu_SIG', poi_value: 1, CLs_obs: 0.2 }));
  assert.equal(tested['Tested mu_SIG'], '1');
  assert.equal(tested.Excluded, 'no, at 95% CL');
  const scan = Object.fromEntries(
    summaryEntries('fit.scan', {
      level: 0.05,
      n_points: 3,
      n_failed: 1,
      failed: ['p3'],
      n_cached: 0,
      contours: [],
      points: [{ CLs_obs: 0.01 }, { CLs_obs: 0.5 }, { CLs_obs: null }]
    })
  );
  assert.equal(scan['Excluded (95% CL)'], '1 of 3');
  assert.equal(scan.Failed, '1: p3');
  assert.match(notebookCells({ id: 'abc' })[0], /Client\(\)\.job\("abc"\)/);
});

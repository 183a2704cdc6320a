/**
 * Jobs as the tabs use them: submit, fetch, cancel, and a small store of job
 * records that live events keep current.
 */
import { requestAPI } from './api.js';

/** States after which a job never changes again. */
export const FINISHED = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);

export function isFinished(job) {
  return FINISHED.has(String((job && job.state) || ''));
}

/** Submit a job: `POST jobs`; resolves with the queued job record. */
export function submitJob(kind, params, request = requestAPI) {
  return request('jobs', { method: 'POST', body: { kind, params } });
}

/** One job with its result (once finished). */
export function getJob(id, request = requestAPI, signal = undefined) {
  return request(`jobs/${encodeURIComponent(id)}`, { signal });
}

export function cancelJob(id, request = requestAPI) {
  return request(`jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST' });
}

/**
 * Job records by id, newest first, merged from list pages and live events.
 * `update(job)` returns true when the record changed.
 */
export class JobStore {
  constructor(accept = () => true) {
    this._accept = accept;
    this._jobs = new Map();
  }

  get size() {
    return this._jobs.size;
  }

  get(id) {
    return this._jobs.get(id);
  }

  /** The jobs, newest first. */
  list() {
    return [...this._jobs.values()].sort((a, b) => (b.created || 0) - (a.created || 0));
  }

  /** Take in a job record; older updates (by `updated`) do not overwrite newer ones. */
  update(job) {
    if (!job || !job.id || !this._accept(job)) {
      return false;
    }
    const old = this._jobs.get(job.id);
    if (old && (old.updated || 0) > (job.updated || 0)) {
      return false;
    }
    // a list page or an event has no result: keep the one fetched before
    const merged = old && old.result !== undefined && job.result === undefined ? { ...job, result: old.result } : job;
    this._jobs.set(job.id, merged);
    return true;
  }

  /** Replace the jobs with a fresh list (keeping fetched results). */
  reset(jobs) {
    const old = this._jobs;
    this._jobs = new Map();
    for (const job of jobs) {
      const before = old.get(job.id);
      if (before && before.result !== undefined && job.result === undefined && before.updated === job.updated) {
        this._jobs.set(job.id, { ...job, result: before.result });
      } else if (this._accept(job)) {
        this._jobs.set(job.id, job);
      }
    }
  }

  delete(id) {
    this._jobs.delete(id);
  }
}

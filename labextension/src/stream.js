/**
 * The live job stream (`GET jobs/events`, server-sent events) read through
 * `ServerConnection.makeRequest`, so it carries the same token as every
 * other call (EventSource could not).
 *
 * A `JobStream` is opened by a tab while it is visible and closed when it is
 * hidden; a dropped connection is retried with a growing delay, and
 * `onConnect` tells the tab to re-read what it may have missed meanwhile.
 */
import { ServerConnection } from '@jupyterlab/services';

import { apiUrl, errorFromResponse, serverSettings } from './api.js';
import { parseSSE } from './sse.js';

const RETRY_MIN = 1000; // ms
const RETRY_MAX = 30000; // ms

export class JobStream {
  /**
   * @param {object} options
   * @param {(job: object) => void} options.onJob - called with each job record as it changes
   * @param {() => void} [options.onConnect] - called each time the stream (re)opens
   * @param {(err: Error|null) => void} [options.onError] - a failure (null once it works again)
   * @param {string} [options.endpoint] - `jobs/events` (all jobs) or `jobs/{id}/events`
   */
  constructor({ onJob, onConnect = () => {}, onError = () => {}, endpoint = 'jobs/events' }) {
    this._onJob = onJob;
    this._onConnect = onConnect;
    this._onError = onError;
    this._endpoint = endpoint;
    this._abort = null;
    this._timer = null;
    this._delay = RETRY_MIN;
    this._running = false;
  }

  /** Whether the stream is wanted (open, or waiting to reconnect). */
  get running() {
    return this._running;
  }

  /** Open the stream (no-op if it is open). */
  start() {
    if (this._running) {
      return;
    }
    this._running = true;
    this._delay = RETRY_MIN;
    void this._connect();
  }

  /** Close the stream and stop reconnecting. */
  stop() {
    this._running = false;
    clearTimeout(this._timer);
    this._timer = null;
    if (this._abort) {
      this._abort.abort();
      this._abort = null;
    }
  }

  async _connect() {
    if (!this._running) {
      return;
    }
    const abort = (this._abort = new AbortController());
    const settings = serverSettings();
    const url = apiUrl(this._endpoint, undefined, settings);
    try {
      const response = await ServerConnection.makeRequest(url, { signal: abort.signal }, settings);
      if (!response.ok) {
        let data = null;
        try {
          data = await response.json();
        } catch {
          // not JSON: the status speaks
        }
        throw errorFromResponse(response, data, url);
      }
      this._delay = RETRY_MIN;
      this._onError(null);
      this._onConnect();
      await this._read(response.body, abort.signal);
    } catch (err) {
      if (abort.signal.aborted || !this._running) {
        return;
      }
      this._onError(
        err && err.name === 'VrelabAPIError'
          ? err
          : new Error('The live job stream was interrupted; reconnecting.')
      );
    }
    if (this._running && !abort.signal.aborted) {
      // the server ended the stream (restart, proxy timeout): reconnect after a while
      this._timer = setTimeout(() => void this._connect(), this._delay);
      this._delay = Math.min(RETRY_MAX, this._delay * 2);
    }
  }

  async _read(body, signal) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || signal.aborted) {
          return;
        }
        buffer += decoder.decode(value, { stream: true });
        const { events, rest } = parseSSE(buffer);
        buffer = rest;
        for (const { event, data } of events) {
          if (event !== 'job') {
            continue;
          }
          let parsed;
          try {
            parsed = JSON.parse(data);
          } catch {
            continue; // a garbled event is skipped, not fatal
          }
          if (parsed && parsed.job) {
            this._onJob(parsed.job);
          }
        }
      }
    } finally {
      reader.releaseLock();
    }
  }
}

/**
 * The one "stream while visible" behaviour of the sidebar's tabs (Data lake,
 * Fits, Workflows): a tab follows the live job stream (`GET jobs/events`)
 * only while it shows and the browser tab is not hidden, stops it when
 * hidden, and re-reads what it shows each time it is shown again.
 *
 * A subclass implements:
 *   - `reload()`       re-read what the tab shows (async); called on show, on
 *                      each (re)connect of the stream and by the refresh button
 *   - `onJob(job)`     a job record changed (live)
 * and may override:
 *   - `wantsStream()`  whether the stream is worth opening now (default: yes)
 *   - `onLiveChange(live, err)`  the stream opened (live) or failed (err)
 */
import { Widget } from '@lumino/widgets';

import { JobStream } from './stream.js';

export class LiveTab extends Widget {
  constructor() {
    super();
    this._live = false;
    this._stream = new JobStream({
      onJob: (job) => this.onJob(job),
      onConnect: () => {
        this._setLive(true, null);
        void this.reload();
      },
      onError: (err) => this._setLive(!err && this._stream.running, err)
    });
    this._onVisibility = () => {
      const wasRunning = this._stream.running;
      this.syncStream();
      if (this._shown() && !wasRunning && !this._stream.running) {
        void this.reload(); // back in view without a stream: read once
      }
    };
  }

  /** Whether the job stream is open now. */
  get live() {
    return this._live;
  }

  /** Re-read what the tab shows. */
  async reload() {}

  /** A job record changed: `onJob(job)`. */
  onJob() {}

  /** Whether the tab needs live job events now (e.g. only while a download runs). */
  wantsStream() {
    return true;
  }

  /** `onLiveChange(live, err)`: the stream opened or closed (`live`), or failed (`err`, null once it works again). */
  onLiveChange() {}

  /** The refresh button. */
  refresh() {
    this.syncStream();
    return this.reload();
  }

  /**
   * Open or close the stream to match visibility and `wantsStream()`. A
   * stream that opens reads the tab (`reload`) when it connects.
   */
  syncStream() {
    if (this._shown() && this.wantsStream()) {
      this._stream.start();
    } else if (this._stream.running) {
      this._stream.stop();
      this._setLive(false, null);
    }
  }

  dispose() {
    if (this.isDisposed) {
      return;
    }
    this._stream.stop();
    document.removeEventListener('visibilitychange', this._onVisibility);
    super.dispose();
  }

  onAfterShow(msg) {
    super.onAfterShow(msg);
    document.addEventListener('visibilitychange', this._onVisibility);
    const wasRunning = this._stream.running;
    this.syncStream();
    if (!this._stream.running || wasRunning) {
      void this.reload(); // no stream to read it on connect: read it now
    }
  }

  onAfterHide(msg) {
    super.onAfterHide(msg);
    document.removeEventListener('visibilitychange', this._onVisibility);
    this._stream.stop();
    this._setLive(false, null);
  }

  _shown() {
    return this.isVisible && !document.hidden;
  }

  _setLive(live, err) {
    this._live = live;
    this.onLiveChange(live, err);
  }
}

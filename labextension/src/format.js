/** Formatting helpers shared by the tabs. */

/**
 * A timestamp as a Date: ISO 8601 strings, or epoch seconds (or milliseconds).
 * Returns null when it cannot be read.
 */
export function toDate(value) {
  if (value === null || value === undefined || value === '') {
    return null;
  }
  if (typeof value === 'number') {
    return new Date(value > 1e12 ? value : value * 1000);
  }
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** "5 s ago", "3 min ago", "2 h ago", "4 d ago" (or "" for an unreadable time). */
export function formatAge(value, now = Date.now()) {
  const date = toDate(value);
  if (!date) {
    return '';
  }
  const s = Math.max(0, Math.round((now - date.getTime()) / 1000));
  if (s < 60) {
    return `${s} s ago`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)} min ago`;
  }
  if (s < 86400) {
    return `${Math.floor(s / 3600)} h ago`;
  }
  return `${Math.floor(s / 86400)} d ago`;
}

/** A full, local date-time for tooltips. */
export function formatDateTime(value) {
  const date = toDate(value);
  return date ? date.toLocaleString() : '';
}

const STATE_KINDS = {
  ok: ['succeeded', 'success', 'done', 'completed', 'finished'],
  busy: ['running', 'started', 'pending', 'queued', 'submitted', 'created', 'accepted'],
  error: ['failed', 'error', 'errored', 'lost'],
  warn: ['cancelled', 'canceled', 'interrupted', 'stopped', 'deleted', 'timeout', 'killed']
};

/** Classify a job state into ok | busy | error | warn | unknown (for colour only). */
export function stateKind(state) {
  const s = String(state || '').toLowerCase();
  for (const [kind, names] of Object.entries(STATE_KINDS)) {
    if (names.includes(s)) {
      return kind;
    }
  }
  return 'unknown';
}

/**
 * The fraction done of a job's progress (the server's `fraction`, else
 * done/total), or null if it is not known.
 */
export function progressFraction(progress) {
  if (!progress) {
    return null;
  }
  if (typeof progress.fraction === 'number' && Number.isFinite(progress.fraction)) {
    return Math.min(1, Math.max(0, progress.fraction));
  }
  const done = Number(progress.done);
  const total = Number(progress.total);
  if (!Number.isFinite(done) || !Number.isFinite(total) || total <= 0) {
    return null;
  }
  return Math.min(1, Math.max(0, done / total));
}

/**
 * Bytes as "1.2 MB": decimal units (powers of 1000) with one decimal, as
 * Rucio, the CLI and the widgets show them (vrelab.units.format_bytes);
 * "" when unknown.
 */
export function formatBytes(value) {
  const n = Number(value);
  if (value === null || value === undefined || value === '' || !Number.isFinite(n)) {
    return '';
  }
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  return i === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** A number for people: up to 4 significant digits, exponent form when tiny or huge. */
export function formatNumber(value, digits = 4) {
  if (value === null || value === undefined || value === '') {
    return '–';
  }
  const n = Number(value);
  if (!Number.isFinite(n)) {
    return String(value);
  }
  if (n !== 0 && (Math.abs(n) < 1e-3 || Math.abs(n) >= 1e6)) {
    return n.toExponential(digits - 1);
  }
  return String(Number(n.toPrecision(digits)));
}

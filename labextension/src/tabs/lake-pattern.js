/** The DID search box's text as a search pattern. */

/**
 * What the user typed, as a search pattern `scope:name`: a bare scope means
 * everything in it, a missing name part means `*`.
 *
 * @returns {string|null} null when no scope can be told
 */
export function toPattern(text) {
  const t = String(text || '').trim();
  if (!t) {
    return null;
  }
  const colon = t.indexOf(':');
  if (colon < 0) {
    return /^[A-Za-z0-9_.-]{1,25}$/.test(t) ? `${t}:*` : null;
  }
  const name = t.slice(colon + 1);
  return name ? t : `${t}*`;
}

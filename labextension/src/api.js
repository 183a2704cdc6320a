/**
 * The one door to vrelab's REST API (`{base_url}vrelab/api/v1/`).
 *
 * Every call goes through `ServerConnection.makeRequest`, which adds the
 * server token and the `X-XSRFToken` header. A failed call always rejects with
 * a `VrelabAPIError` whose `message` can be shown to a user as it is.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export const API_PATH = 'vrelab/api/v1';

/** An error answered by (or on the way to) the vrelab REST API. */
export class VrelabAPIError extends Error {
  /**
   * @param {string} message - readable, shown to the user as it is
   * @param {{status?: number, code?: string, details?: object, url?: string}} [info]
   */
  constructor(message, { status = 0, code = 'unknown_error', details = {}, url = '' } = {}) {
    super(message);
    this.name = 'VrelabAPIError';
    this.status = status;
    this.code = code;
    this.details = details || {};
    this.url = url;
  }
}

let defaultSettings = null;

/** The server settings of this page (base URL, token), made once. */
export function serverSettings() {
  if (!defaultSettings) {
    defaultSettings = ServerConnection.makeSettings();
  }
  return defaultSettings;
}

/**
 * The full URL of an API endpoint.
 *
 * @param {string} endpoint - e.g. `status` or `jobs/abc`
 * @param {object} [query] - query parameters; null and undefined values are dropped
 * @param {ServerConnection.ISettings} [settings]
 */
export function apiUrl(endpoint = '', query = undefined, settings = serverSettings()) {
  const url = URLExt.join(settings.baseUrl, API_PATH, endpoint);
  if (!query) {
    return url;
  }
  const kept = {};
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) {
      kept[key] = String(value);
    }
  }
  return Object.keys(kept).length ? url + URLExt.objectToQueryString(kept) : url;
}

/**
 * Call the vrelab REST API and return the decoded JSON answer.
 *
 * @param {string} endpoint - path below `vrelab/api/v1/`
 * @param {object} [options]
 * @param {string} [options.method] - HTTP method, `GET` by default
 * @param {object} [options.query] - query parameters
 * @param {*} [options.body] - sent as JSON when given
 * @param {AbortSignal} [options.signal]
 * @param {ServerConnection.ISettings} [options.settings]
 * @returns {Promise<any>} the decoded body (null for an empty answer)
 * @throws {VrelabAPIError} on any failure; an aborted call rejects with the AbortError
 */
export async function requestAPI(endpoint = '', options = {}) {
  const { method = 'GET', query, body, signal, settings = serverSettings() } = options;
  const url = apiUrl(endpoint, query, settings);
  const init = { method, signal };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'Content-Type': 'application/json' };
  }

  let response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (err) {
    if (err && err.name === 'AbortError') {
      throw err;
    }
    throw new VrelabAPIError(
      'Cannot reach the Jupyter server. Check that it is still running, then reload the page.',
      { code: 'network_error', url, details: { reason: String((err && err.message) || err) } }
    );
  }

  const text = await response.text();
  let data = null;
  let isJSON = true;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      isJSON = false;
    }
  }
  if (!response.ok) {
    throw errorFromResponse(response, isJSON ? data : null, url);
  }
  if (!isJSON) {
    throw new VrelabAPIError(
      `The server answered ${endpoint || 'the request'} with something that is not JSON.`,
      { status: response.status, code: 'bad_response', url }
    );
  }
  return data;
}

/** Turn a failed response into a `VrelabAPIError` with a readable message. */
export function errorFromResponse(response, data, url = '') {
  const status = response.status;
  const info = { status, url };
  // vrelab's own errors: {"error": {"code", "message", "details"}}
  const err = data && typeof data === 'object' ? data.error : null;
  if (err && typeof err === 'object' && err.message) {
    return new VrelabAPIError(String(err.message), {
      ...info,
      code: err.code || `http_${status}`,
      details: err.details && typeof err.details === 'object' ? err.details : {}
    });
  }
  // jupyter_server's own JSON errors: {"message", "reason"}
  if (data && typeof data === 'object' && typeof data.message === 'string' && data.message) {
    return new VrelabAPIError(data.message, { ...info, code: `http_${status}` });
  }
  const http = response.statusText ? `HTTP ${status} ${response.statusText}` : `HTTP ${status}`;
  let message;
  if (status === 404) {
    message =
      'The vrelab server extension did not answer (HTTP 404). Is the vrelab package installed ' +
      'and enabled in this Jupyter server? `jupyter server extension list` tells.';
  } else if (status === 401 || status === 403) {
    message = `The Jupyter server refused the request (HTTP ${status}). Your session may have expired: reload the page.`;
  } else if (status >= 500) {
    message = `The Jupyter server failed to answer (${http}).`;
  } else {
    message = `The request failed (${http}).`;
  }
  return new VrelabAPIError(message, { ...info, code: `http_${status}` });
}

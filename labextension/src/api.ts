import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { appSettings } from './settings';

/** An error answered by the nbregistry API, carrying its HTTP status and JSON body. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: any = null
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let ownSettings: ServerConnection.ISettings | null = null;
const otherSettings = new Map<string, ServerConnection.ISettings>();

/** The base URL of another registry (the `registryUrl` setting), or null for this server's own. */
export function otherRegistry(): string | null {
  const other = appSettings().registryUrl.trim();
  return other ? new URL(other, window.location.origin).href : null;
}

/**
 * How to reach the registry the app shows. This Jupyter server's: JupyterLab's own settings (its
 * token, its XSRF cookie). Another registry on the same origin: its own base URL, and never this
 * server's token — that token opens the user's Jupyter server (and kernels) and is not for another
 * service's ears. (ServerConnection also refuses URLs outside its base URL, so the lab's settings
 * could not reach a registry outside `/user/<name>/` under JupyterHub at all.)
 */
function connection(): ServerConnection.ISettings {
  const other = otherRegistry();
  if (!other) {
    ownSettings = ownSettings ?? ServerConnection.makeSettings();
    return ownSettings;
  }
  let settings = otherSettings.get(other);
  if (!settings) {
    settings = ServerConnection.makeSettings({ baseUrl: other, token: '', appendToken: false });
    otherSettings.set(other, settings);
  }
  return settings;
}

/** Absolute URL of an API path, e.g. `apiUrl('versions/churn%3A3/files/model.pkl')`. */
export function apiUrl(path: string): string {
  return URLExt.join(connection().baseUrl, 'nbregistry/api', path);
}

/** Build `path?k=v&...`, leaving out undefined and empty values. */
export function withQuery(
  path: string,
  query: Record<string, string | number | boolean | undefined | null>
): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') {
      continue;
    }
    parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`);
  }
  return parts.length ? `${path}?${parts.join('&')}` : path;
}

/**
 * The one way the extension talks to the server. Goes through
 * `ServerConnection.makeRequest` (auth token and XSRF header handled there);
 * a non-2xx answer becomes an `ApiError` whose message is the server's
 * `{"message"}`.
 */
export async function requestAPI<T = any>(
  path: string,
  init: RequestInit = {}
): Promise<T> {
  const request: RequestInit = { ...init };
  if (request.body !== undefined && typeof request.body === 'string') {
    request.headers = { 'Content-Type': 'application/json', ...(init.headers as any) };
  }
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(apiUrl(path), request, connection());
  } catch (error) {
    throw new ApiError(`Cannot reach the Jupyter server: ${String(error)}`, 0);
  }
  const text = await response.text();
  let data: any = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) {
    let message = String(
      (data && typeof data === 'object' && data.message) || `${response.status} ${response.statusText || 'error'} for ${path}`
    );
    const other = otherRegistry();
    if (other && (response.status === 401 || (response.status === 403 && /^forbidden$/i.test(message)))) {
      // Another registry that does not know this browser yet (e.g. a JupyterHub service before its OAuth login).
      message =
        `The registry at ${other} does not know you yet (it said: ${message}): log in at ` +
        `${URLExt.join(other, 'login')}, or clear Settings → Model Registry → registryUrl to use this server's`;
    }
    throw new ApiError(message, response.status, data);
  }
  return data as T;
}

/** JSON POST/PATCH/PUT helper. */
export function sendJSON<T = any>(
  method: 'POST' | 'PATCH' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown
): Promise<T> {
  return requestAPI<T>(path, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body)
  });
}

/** Path segment for a ref (`churn@production` → `churn%40production`). */
export function refPath(ref: string): string {
  return encodeURIComponent(ref);
}

/** Readable text for anything thrown: the server's own message, once (no status code appended). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

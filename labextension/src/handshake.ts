import { ApiError, requestAPI } from './api';
import { FRONTEND_VERSION } from './version';

/**
 * Ask the backend for its version. Returns a sentence naming the fix when the
 * backend is missing or differs from this frontend, or null when they agree.
 */
export async function checkBackendVersion(): Promise<string | null> {
  const fix = 'run `pip install -U nbregistry` and restart JupyterLab';
  try {
    const answer = await requestAPI<{ version: string; api: number }>('version');
    if (answer.version !== FRONTEND_VERSION) {
      return `backend nbregistry ${answer.version}, frontend ${FRONTEND_VERSION}: ${fix}.`;
    }
    return null;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      return `backend nbregistry not found (the server extension is not enabled), frontend ${FRONTEND_VERSION}: ${fix}.`;
    }
    return `Cannot check the nbregistry backend: ${String(error instanceof Error ? error.message : error)}`;
  }
}

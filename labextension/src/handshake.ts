import { ApiError, requestAPI } from './api';
import { FRONTEND_VERSION } from './version';

export interface IHandshake {
  /** A sentence naming the fix when backend and frontend disagree (or the backend is missing). */
  banner: string | null;
  /** The author name the server records for this user's writes, when it says. */
  author: string | null;
}

/** Ask the backend for its version (and who it takes us to be). */
export async function checkBackendVersion(): Promise<IHandshake> {
  const fix = 'run `pip install -U nbregistry` and restart JupyterLab';
  try {
    const answer = await requestAPI<{ version: string; api: number; author?: string }>('version');
    const author = typeof answer.author === 'string' ? answer.author : null;
    if (answer.version !== FRONTEND_VERSION) {
      return { banner: `backend nbregistry ${answer.version}, frontend ${FRONTEND_VERSION}: ${fix}.`, author };
    }
    return { banner: null, author };
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      return {
        banner: `backend nbregistry not found (the server extension is not enabled), frontend ${FRONTEND_VERSION}: ${fix}.`,
        author: null
      };
    }
    const reason = error instanceof Error ? error.message : String(error);
    return { banner: `Cannot check the nbregistry backend: ${reason}`, author: null };
  }
}

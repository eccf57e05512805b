/**
 * Live refresh: polls GET /events after the newest id it has. The feed starts from now
 * (`since=latest` answers only the newest id), so start-up reads no history however long it is.
 * Polls every `refreshInterval` seconds while some registry view is visible and the browser tab is
 * shown; failures back off (doubling, up to 20 intervals).
 */
import { requestAPI, withQuery } from './api';
import { appSettings } from './settings';
import { RegistryEvent } from './types';

const PAGE_SIZE = 500;
const MAX_BACKOFF = 20;

export class EventPoller {
  constructor(private readonly onEvents: (events: RegistryEvent[]) => void) {
    document.addEventListener('visibilitychange', this._onVisibility);
  }

  /** Views call this when they show (`true`) or hide (`false`); polling runs while any is shown. */
  setVisible(owner: object, visible: boolean): void {
    if (visible) {
      this._visible.add(owner);
    } else {
      this._visible.delete(owner);
    }
    this.schedule(0);
  }

  dispose(): void {
    document.removeEventListener('visibilitychange', this._onVisibility);
    this.clear();
  }

  /** Re-read the interval (after a settings change); `fromNow` also restarts the feed (another registry). */
  restart(fromNow = false): void {
    if (fromNow) {
      this._lastId = null;
    }
    this.schedule(0);
  }

  private _onVisibility = () => this.schedule(0);

  private get active(): boolean {
    return this._visible.size > 0 && !document.hidden && appSettings().refreshInterval > 0;
  }

  private clear(): void {
    if (this._timer !== null) {
      window.clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private schedule(delayMs: number): void {
    this.clear();
    if (this.active) {
      this._timer = window.setTimeout(() => void this.poll(), delayMs);
    }
  }

  private async poll(): Promise<void> {
    this._timer = null;
    if (this._busy || !this.active) {
      return;
    }
    this._busy = true;
    try {
      if (this._lastId === null) {
        const start = await requestAPI<{ last_id: number }>(withQuery('events', { since: 'latest' }));
        this._lastId = start.last_id ?? 0;
      } else {
        let more = true;
        const fresh: RegistryEvent[] = [];
        while (more) {
          const answer = await requestAPI<{ events: RegistryEvent[]; last_id: number | null }>(
            withQuery('events', { since: this._lastId, limit: PAGE_SIZE })
          );
          fresh.push(...answer.events);
          this._lastId = Math.max(this._lastId ?? 0, answer.last_id ?? 0);
          more = answer.events.length === PAGE_SIZE;
        }
        if (fresh.length) {
          this.onEvents(fresh);
        }
      }
      this._failures = 0;
    } catch {
      // The handshake banner explains a missing backend; here only slow down.
      this._failures += 1;
    } finally {
      this._busy = false;
    }
    const interval = appSettings().refreshInterval * 1000;
    this.schedule(interval * Math.min(MAX_BACKOFF, 2 ** this._failures));
  }

  private _timer: number | null = null;
  private _lastId: number | null = null;
  private _busy = false;
  private _failures = 0;
  private _visible = new Set<object>();
}

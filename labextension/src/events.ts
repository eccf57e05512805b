/** Polls GET /events?since=<last id> and tells its owner when something changed. */
import { requestAPI, withQuery } from './api';
import { RegistryEvent } from './types';

export class EventPoller {
  constructor(
    private readonly onEvents: (events: RegistryEvent[]) => void,
    private readonly intervalMs = 3000
  ) {}

  /** Start polling (idempotent). The first poll only learns the current last id. */
  start(): void {
    if (this._timer !== null) {
      return;
    }
    this._timer = window.setInterval(() => void this.poll(), this.intervalMs);
    void this.poll();
  }

  stop(): void {
    if (this._timer !== null) {
      window.clearInterval(this._timer);
      this._timer = null;
    }
  }

  dispose(): void {
    this.stop();
  }

  async poll(): Promise<void> {
    if (this._busy || document.hidden) {
      return;
    }
    this._busy = true;
    try {
      const answer = await requestAPI<{ events: RegistryEvent[]; last_id: number | null }>(
        withQuery('events', { since: this._lastId ?? 0, limit: 500 })
      );
      const known = this._lastId !== null;
      const lastId = answer.last_id ?? this._lastId ?? 0;
      if (known && answer.events.length > 0) {
        this.onEvents(answer.events);
      }
      // On the first poll with a full page, skip ahead: old events are not news.
      this._lastId = Math.max(lastId, ...answer.events.map(event => event.id), this._lastId ?? 0);
    } catch {
      // The panel's handshake banner explains a missing backend; keep quiet here.
    } finally {
      this._busy = false;
    }
  }

  private _timer: number | null = null;
  private _lastId: number | null = null;
  private _busy = false;
}

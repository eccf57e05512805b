/** Polls GET /events?since=<last id> and tells its owner when something changed. */
import { requestAPI, withQuery } from './api';
import { RegistryEvent } from './types';

const PAGE_SIZE = 1000;
const MAX_CATCH_UP_PAGES = 50;

export class EventPoller {
  constructor(
    private readonly onEvents: (events: RegistryEvent[]) => void,
    private readonly intervalMs = 3000
  ) {}

  /** Start polling (idempotent). The first poll only learns the newest event id. */
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
      if (this._lastId === null) {
        // First poll: skip over the history (old events are not news) without refreshing.
        let since = 0;
        for (let page = 0; page < MAX_CATCH_UP_PAGES; page++) {
          const answer = await this.fetch(since);
          since = Math.max(since, answer.last_id ?? since);
          if (answer.events.length < PAGE_SIZE) {
            break;
          }
        }
        this._lastId = since;
        return;
      }
      const answer = await this.fetch(this._lastId);
      if (answer.events.length > 0) {
        this._lastId = Math.max(this._lastId, answer.last_id ?? 0, ...answer.events.map(event => event.id));
        this.onEvents(answer.events);
      }
    } catch {
      // The panel's handshake banner explains a missing backend; keep quiet here.
    } finally {
      this._busy = false;
    }
  }

  private fetch(since: number): Promise<{ events: RegistryEvent[]; last_id: number | null }> {
    return requestAPI(withQuery('events', { since, limit: PAGE_SIZE }));
  }

  private _timer: number | null = null;
  private _lastId: number | null = null;
  private _busy = false;
}

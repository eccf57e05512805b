/**
 * What the app's tabs and the sidebar navigator share: the services (rendermime, the event feed,
 * the banner, opening tabs) and a widget base that re-renders on their signals and polls the event
 * feed only while it is visible.
 */
import * as React from 'react';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';

import { Route } from './context';
import { EventPoller } from './events';

/** What all registry views share: rendermime, the event feed, the banner, opening tabs. */
export interface IAppServices {
  rendermime: IRenderMimeRegistry | null;
  userNames: () => string[];
  insertLoadCode: (ref: string) => string | null;
  openTab: (route: Route) => void;
  poller: EventPoller;
  /** Emitted when the event feed reports changes (or a view asked for a refresh): views re-fetch. */
  changed: ISignal<IAppServices, void>;
  /** Emitted when only what is drawn changed (banner, user names, settings): views re-render, no fetch. */
  redraw: ISignal<IAppServices, void>;
  refreshAll: () => void;
  redrawAll: () => void;
  banner: () => string | null;
}

export class AppServices implements IAppServices {
  constructor(
    readonly rendermime: IRenderMimeRegistry | null,
    readonly userNames: () => string[],
    readonly insertLoadCode: (ref: string) => string | null,
    readonly openTab: (route: Route) => void
  ) {
    this.poller = new EventPoller(() => this.refreshAll());
  }
  readonly poller: EventPoller;
  get changed(): ISignal<this, void> {
    return this._changed;
  }
  get redraw(): ISignal<this, void> {
    return this._redraw;
  }
  refreshAll(): void {
    this._changed.emit();
  }
  redrawAll(): void {
    this._redraw.emit();
  }
  banner(): string | null {
    return this._banner;
  }
  setBanner(message: string | null): void {
    this._banner = message;
    this._redraw.emit();
  }
  private _banner: string | null = null;
  private _changed = new Signal<this, void>(this);
  private _redraw = new Signal<this, void>(this);
}

/**
 * A registry widget: re-renders (with a new `refreshKey`, so views re-fetch) when the event feed
 * reports changes, re-renders without fetching on `redraw`, and tells the poller whether it is
 * visible (attached and shown: a tab added and activated is attached, not "shown").
 */
export abstract class RegistryWidget extends ReactWidget {
  constructor(protected readonly services: IAppServices) {
    super();
    services.changed.connect(this.onChanged, this);
    services.redraw.connect(this.onRedraw, this);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.services.changed.disconnect(this.onChanged, this);
    this.services.redraw.disconnect(this.onRedraw, this);
    this.services.poller.setVisible(this, false);
    super.dispose();
  }

  /** Bumped on every change the feed reports: views keyed on it fetch again. */
  protected refreshKey = 0;

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.services.poller.setVisible(this, this.isVisible);
  }

  protected onBeforeDetach(msg: Message): void {
    this.services.poller.setVisible(this, false);
    super.onBeforeDetach(msg);
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.services.poller.setVisible(this, true);
  }

  protected onBeforeHide(msg: Message): void {
    super.onBeforeHide(msg);
    this.services.poller.setVisible(this, false);
  }

  private onChanged(): void {
    this.refreshKey += 1;
    this.update();
  }

  private onRedraw(): void {
    this.update();
  }
}

/** The version-handshake banner (frontend and backend disagree), when there is one. */
export function Banner(props: { message: string | null }) {
  return props.message ? (
    <div className="nbr-Banner" role="alert">
      {props.message}
    </div>
  ) : null;
}

/** The side panel: a header with navigation, the version banner, and the current view. */
import * as React from 'react';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import {
  caretLeftIcon,
  homeIcon,
  ReactWidget,
  refreshIcon,
  ToolbarButtonComponent
} from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';

import { CompareView } from './compare';
import { IRegistryContext, RegistryContext, Route } from './context';
import { EventPoller } from './events';
import { registryIcon } from './icon';
import { IListFilter, ModelList } from './modelList';
import { ModelPage } from './modelPage';
import { VersionPage } from './versionPage';

export interface IPanelOptions {
  rendermime: IRenderMimeRegistry | null;
  userNames: () => string[];
  insertLoadCode: (ref: string) => string | null;
}

export class RegistryPanel extends ReactWidget {
  constructor(private readonly options: IPanelOptions) {
    super();
    this.id = 'nbregistry-panel';
    this.title.icon = registryIcon;
    this.title.caption = 'Model Registry';
    this.addClass('nbr-Panel');
    this._poller = new EventPoller(() => this.refresh());
  }

  /** Show a version-mismatch (or backend missing) message above every view. */
  set banner(message: string | null) {
    this._banner = message;
    this.update();
  }

  /** Re-fetch whatever the current view shows. */
  refresh(): void {
    this._refreshKey += 1;
    this.update();
  }

  dispose(): void {
    this._poller.dispose();
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._poller.start();
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this._poller.stop();
  }

  protected render(): JSX.Element {
    return (
      <PanelRoot
        banner={this._banner}
        refreshKey={this._refreshKey}
        refresh={() => this.refresh()}
        rendermime={this.options.rendermime}
        userNames={this.options.userNames()}
        insertLoadCode={this.options.insertLoadCode}
      />
    );
  }

  private _banner: string | null = null;
  private _refreshKey = 0;
  private _poller: EventPoller;
}

interface IPanelRootProps {
  banner: string | null;
  refreshKey: number;
  refresh: () => void;
  rendermime: IRenderMimeRegistry | null;
  userNames: string[];
  insertLoadCode: (ref: string) => string | null;
}

function PanelRoot(props: IPanelRootProps) {
  const [stack, setStack] = React.useState<Route[]>([{ kind: 'list' }]);
  const [filter, setFilter] = React.useState<IListFilter>({ text: '', archived: false });
  const route = stack[stack.length - 1];

  const context: IRegistryContext = {
    rendermime: props.rendermime,
    userNames: props.userNames,
    refreshKey: props.refreshKey,
    refresh: props.refresh,
    navigate: next => setStack(current => [...current, next]),
    back: () => setStack(current => (current.length > 1 ? current.slice(0, -1) : current)),
    insertLoadCode: props.insertLoadCode
  };

  return (
    <RegistryContext.Provider value={context}>
      <div className="nbr-Header jp-Toolbar">
        <ToolbarButtonComponent
          icon={caretLeftIcon}
          tooltip="Back"
          className="nbr-Back"
          enabled={stack.length > 1}
          onClick={context.back}
        />
        <ToolbarButtonComponent
          icon={homeIcon}
          tooltip="All models"
          className="nbr-Home"
          onClick={() => setStack([{ kind: 'list' }])}
        />
        <span className="nbr-Header-title">{title(route)}</span>
        <ToolbarButtonComponent icon={refreshIcon} tooltip="Refresh" className="nbr-Refresh" onClick={props.refresh} />
      </div>
      {props.banner && (
        <div className="nbr-Banner" role="alert">
          {props.banner}
        </div>
      )}
      <div className="nbr-Body">
        <ViewBoundary key={stack.length}>
          {view(route, <ModelList filter={filter} onFilter={setFilter} />)}
        </ViewBoundary>
      </div>
    </RegistryContext.Provider>
  );
}

function title(route: Route): string {
  switch (route.kind) {
    case 'list':
      return 'Model Registry';
    case 'model':
      return route.name;
    case 'version':
      return route.ref;
    case 'compare':
      return 'Compare';
  }
}

/** The element for a route; the list comes ready-made from PanelRoot, which keeps its filter. */
function view(route: Route, list: JSX.Element): JSX.Element {
  switch (route.kind) {
    case 'list':
      return list;
    case 'model':
      return <ModelPage key={route.name} name={route.name} />;
    case 'version':
      return <VersionPage key={route.ref} versionRef={route.ref} />;
    case 'compare':
      return <CompareView key={route.refs.join(',')} refs={route.refs} />;
  }
}

/** A failing view shows its error instead of blanking the whole panel. */
class ViewBoundary extends React.Component<{ children: React.ReactNode }, { error: string | null }> {
  state = { error: null as string | null };

  static getDerivedStateFromError(error: unknown) {
    return { error: error instanceof Error ? error.message : String(error) };
  }

  render(): React.ReactNode {
    if (this.state.error) {
      return <div className="nbr-Error">This view failed: {this.state.error}. Go back or refresh.</div>;
    }
    return this.props.children;
  }
}

/**
 * The Model Registry app: a main-area tab (command `nbregistry:open`) with a back stack of views.
 * Several tabs can be open; each remembers its current view in the workspace (layout restorer).
 */
import * as React from 'react';
import { caretLeftIcon, homeIcon, refreshIcon, ToolbarButtonComponent } from '@jupyterlab/ui-components';
import { ISignal, Signal } from '@lumino/signaling';

import { CompareView } from './compare';
import { IRegistryContext, RegistryContext, Route, routeTitle } from './context';
import { registryIcon } from './icon';
import { ModelTable } from './modelList';
import { ModelPage } from './modelPage';
import { Banner, IAppServices, RegistryWidget } from './services';
import { appSettings } from './settings';
import { VersionPage } from './versionPage';

let nextId = 0;

export class RegistryApp extends RegistryWidget {
  constructor(services: IAppServices, route: Route) {
    super(services);
    this.id = `nbregistry-app-${++nextId}`;
    this.addClass('nbr-App');
    this.title.icon = registryIcon;
    this.title.closable = true;
    this._route = route;
    this.setTitle();
  }

  /** The view shown now (what the layout restorer saves). */
  get route(): Route {
    return this._route;
  }

  get routeChanged(): ISignal<this, Route> {
    return this._routeChanged;
  }

  /** Show `route` in this tab (pushed on its back stack). */
  showRoute(route: Route): void {
    this._pending = route;
    this.update();
  }

  protected render(): JSX.Element {
    const pending = this._pending;
    this._pending = null;
    return (
      <AppRoot
        initial={this._route}
        pending={pending}
        refreshKey={this.refreshKey}
        services={this.services}
        onRoute={route => {
          this._route = route;
          this.setTitle();
          this._routeChanged.emit(route);
        }}
      />
    );
  }

  private setTitle(): void {
    this.title.label = routeTitle(this._route);
    this.title.caption = this.title.label;
  }

  private _route: Route;
  private _pending: Route | null = null;
  private _routeChanged = new Signal<this, Route>(this);
}

interface IAppRootProps {
  initial: Route;
  pending: Route | null;
  refreshKey: number;
  services: IAppServices;
  onRoute: (route: Route) => void;
}

function AppRoot(props: IAppRootProps) {
  const [stack, setStack] = React.useState<Route[]>([props.initial]);
  const route = stack[stack.length - 1];
  const { onRoute, pending } = props;

  React.useEffect(() => {
    if (pending) {
      setStack(current => [...current, pending]);
    }
  }, [pending]);
  React.useEffect(() => onRoute(route), [route]);

  const context: IRegistryContext = {
    rendermime: props.services.rendermime,
    userNames: props.services.userNames(),
    refreshKey: props.refreshKey,
    refresh: () => props.services.refreshAll(),
    navigate: next => setStack(current => [...current, next]),
    openTab: props.services.openTab,
    back: () => setStack(current => (current.length > 1 ? current.slice(0, -1) : current)),
    insertLoadCode: props.services.insertLoadCode,
    settings: appSettings()
  };
  const banner = props.services.banner();

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
          onClick={() => setStack(current => [...current, { kind: 'list' }])}
        />
        <Breadcrumbs route={route} navigate={context.navigate} />
        <ToolbarButtonComponent icon={refreshIcon} tooltip="Refresh" className="nbr-Refresh" onClick={context.refresh} />
      </div>
      <Banner message={banner} />
      <div className="nbr-Body">
        <ViewBoundary key={`${stack.length}:${JSON.stringify(route)}`}>{view(route)}</ViewBoundary>
      </div>
    </RegistryContext.Provider>
  );
}

function Breadcrumbs(props: { route: Route; navigate: (route: Route) => void }) {
  const { route, navigate } = props;
  const crumbs: { label: string; to?: Route }[] = [{ label: 'Models', to: { kind: 'list' } }];
  if (route.kind === 'model') {
    crumbs.push({ label: route.name });
  } else if (route.kind === 'version') {
    const name = route.ref.split(/[:@]/)[0];
    crumbs.push({ label: name, to: { kind: 'model', name } }, { label: route.ref });
  } else if (route.kind === 'compare') {
    const name = route.refs[0]?.split(/[:@]/)[0];
    if (name && route.refs.every(ref => ref.split(/[:@]/)[0] === name)) {
      crumbs.push({ label: name, to: { kind: 'model', name } });
    }
    crumbs.push({ label: `Compare ${route.refs.length}` });
  }
  if (route.kind === 'list') {
    crumbs[0] = { label: 'Models' };
  }
  return (
    <nav className="nbr-Breadcrumbs" aria-label="where you are">
      {crumbs.map((crumb, index) => (
        <React.Fragment key={index}>
          {index > 0 && <span className="nbr-Breadcrumbs-sep">/</span>}
          {crumb.to ? (
            <button type="button" className="nbr-Link nbr-LinkButton" onClick={() => navigate(crumb.to!)}>
              {crumb.label}
            </button>
          ) : (
            <span className="nbr-Breadcrumbs-here">{crumb.label}</span>
          )}
        </React.Fragment>
      ))}
    </nav>
  );
}

function view(route: Route): JSX.Element {
  switch (route.kind) {
    case 'list':
      return <ModelTable />;
    case 'model':
      return <ModelPage name={route.name} />;
    case 'version':
      return <VersionPage versionRef={route.ref} section={route.section} />;
    case 'compare':
      return <CompareView refs={route.refs} />;
  }
}

/** A failing view shows its error instead of blanking the whole tab. */
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

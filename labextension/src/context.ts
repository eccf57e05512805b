import * as React from 'react';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { appSettings, IAppSettings } from './settings';

/** What a registry tab shows: one of these views, with a back stack kept by the tab. */
export type Route =
  | { kind: 'list' }
  | { kind: 'model'; name: string }
  | { kind: 'version'; ref: string; section?: string }
  | { kind: 'compare'; refs: string[] };

/** What every view needs from its tab, passed down through React context. */
export interface IRegistryContext {
  rendermime: IRenderMimeRegistry | null;
  /** Names the server may use for the current user (comment authorship). */
  userNames: string[];
  /** Incremented whenever the event feed reports changes: views re-fetch on it. */
  refreshKey: number;
  /** Ask every view to re-fetch (after a change made from the app). */
  refresh: () => void;
  /** Show a route in this tab (pushes on its back stack). */
  navigate: (route: Route) => void;
  /** Show a route in a tab of its own. */
  openTab: (route: Route) => void;
  back: () => void;
  /** Insert `nr.load(ref)` code into the active notebook; returns an error text or null. */
  insertLoadCode: (ref: string) => string | null;
  settings: IAppSettings;
}

export const RegistryContext = React.createContext<IRegistryContext>({
  rendermime: null,
  userNames: [],
  refreshKey: 0,
  refresh: () => undefined,
  navigate: () => undefined,
  openTab: () => undefined,
  back: () => undefined,
  insertLoadCode: () => 'not available',
  settings: appSettings()
});

export function useRegistry(): IRegistryContext {
  return React.useContext(RegistryContext);
}

/** `churn` + 3 → `churn:3` */
export function versionRef(name: string, version: number): string {
  return `${name}:${version}`;
}

/** Python source that loads a ref. */
export function loadCode(ref: string): string {
  return `import nbregistry as nr\nmodel = nr.load(${JSON.stringify(ref)})`;
}

/** Arguments of the `nbregistry:open` command (also what the layout restorer saves). */
export interface IOpenArgs {
  /** `churn` (model page), `churn:3` or `churn@production` (version page). */
  ref?: string;
  /** Refs to compare: a list or a comma-separated string. */
  compare?: string[] | string;
  section?: string;
}

export function routeFromArgs(args: IOpenArgs | Record<string, unknown>): Route {
  const { ref, compare, section } = args as IOpenArgs;
  const refs = typeof compare === 'string' ? compare.split(',') : compare;
  if (refs && refs.length) {
    return { kind: 'compare', refs: refs.map(r => r.trim()).filter(Boolean) };
  }
  if (typeof ref === 'string' && ref.trim()) {
    const text = ref.trim();
    return /[:@]/.test(text)
      ? { kind: 'version', ref: text, section: typeof section === 'string' ? section : undefined }
      : { kind: 'model', name: text };
  }
  return { kind: 'list' };
}

export function argsFromRoute(route: Route): IOpenArgs {
  switch (route.kind) {
    case 'list':
      return {};
    case 'model':
      return { ref: route.name };
    case 'version':
      return route.section ? { ref: route.ref, section: route.section } : { ref: route.ref };
    case 'compare':
      return { compare: route.refs };
  }
}

/** The tab title: always contains "Model Registry". */
export function routeTitle(route: Route): string {
  switch (route.kind) {
    case 'list':
      return 'Model Registry';
    case 'model':
      return `${route.name} · Model Registry`;
    case 'version':
      return `${route.ref} · Model Registry`;
    case 'compare':
      return `Compare ${route.refs.length} · Model Registry`;
  }
}

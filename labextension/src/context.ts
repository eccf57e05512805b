import * as React from 'react';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

/** Where the panel is: one of these views, with a back stack kept by the panel. */
export type Route =
  | { kind: 'list' }
  | { kind: 'model'; name: string }
  | { kind: 'version'; ref: string }
  | { kind: 'compare'; refs: string[] };

/** What every view needs from the panel, passed down through React context. */
export interface IRegistryContext {
  rendermime: IRenderMimeRegistry | null;
  /** Names the server may use for the current user (comment authorship). */
  userNames: string[];
  /** Incremented whenever the event feed reports changes: views re-fetch on it. */
  refreshKey: number;
  /** Ask every view to re-fetch (after a change made from the panel). */
  refresh: () => void;
  navigate: (route: Route) => void;
  back: () => void;
  /** Insert `nr.load(ref)` code into the active notebook; returns an error text or null. */
  insertLoadCode: (ref: string) => string | null;
}

export const RegistryContext = React.createContext<IRegistryContext>({
  rendermime: null,
  userNames: [],
  refreshKey: 0,
  refresh: () => undefined,
  navigate: () => undefined,
  back: () => undefined,
  insertLoadCode: () => 'not available'
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

/**
 * What the current user may do (GET /whoami, docs/contracts): every action button asks here and
 * is disabled with the server's reason when refused. A backend without the route allows all.
 */
import * as React from 'react';

import { ApiError, requestAPI, withQuery } from './api';

export interface IWhoAmI {
  user: string;
  identity: string;
  auth: string;
  groups: string[];
  roles: string[];
  can: Record<string, boolean>;
  aliases: Record<string, boolean>;
  reasons: Record<string, string>;
}

/** Everything allowed: what an old backend (no /whoami) gets. */
const EVERYONE: IWhoAmI = {
  user: '',
  identity: 'local',
  auth: 'none',
  groups: [],
  roles: [],
  can: {},
  aliases: { '*': true },
  reasons: {}
};

const cache = new Map<string, Promise<IWhoAmI>>();

export function fetchWhoAmI(model?: string): Promise<IWhoAmI> {
  const key = model ?? '';
  let answer = cache.get(key);
  if (!answer) {
    answer = requestAPI<IWhoAmI>(withQuery('whoami', { model })).catch(error => {
      if (error instanceof ApiError && error.status === 404) {
        return EVERYONE;
      }
      cache.delete(key); // try again next time
      return EVERYONE;
    });
    cache.set(key, answer);
  }
  return answer;
}

/** Forget what the server said (after a reload or a settings change). */
export function forgetWhoAmI(): void {
  cache.clear();
}

export interface IPermission {
  allowed: boolean;
  reason: string | undefined;
}

/** May the user do `action` (on `alias`, for promote/rollback)? */
export function permission(who: IWhoAmI, action: string, alias?: string): IPermission {
  if (alias !== undefined) {
    const allowed = who.aliases?.[alias] ?? who.aliases?.['*'] ?? who.can?.promote ?? true;
    return {
      allowed,
      reason: allowed ? undefined : who.reasons?.[`promote:${alias}`] ?? who.reasons?.promote ?? 'not permitted'
    };
  }
  const allowed = who.can?.[action] ?? true;
  return { allowed, reason: allowed ? undefined : who.reasons?.[action] ?? 'not permitted' };
}

export function useWhoAmI(model?: string): IWhoAmI | null {
  const [who, setWho] = React.useState<IWhoAmI | null>(null);
  React.useEffect(() => {
    let live = true;
    void fetchWhoAmI(model).then(answer => live && setWho(answer));
    return () => {
      live = false;
    };
  }, [model]);
  return who;
}

export interface IActionButtonProps {
  /** data-action, and the permission asked for unless `permission` names another. */
  action: string;
  permission?: string;
  alias?: string;
  /** Which model the permission is about (whoami?model=). */
  model?: string;
  className?: string;
  kind?: 'accept' | 'warn' | 'reject' | 'plain';
  busy?: boolean;
  /** Disabled for a reason of the page's own (e.g. "nothing to roll back to"). */
  disabledReason?: string | null;
  title?: string;
  onClick: () => void;
  children: React.ReactNode;
}

/** A button carrying data-action/data-alias, disabled with the reason when not permitted. */
export function ActionButton(props: IActionButtonProps) {
  const who = useWhoAmI(props.model);
  const granted = who ? permission(who, props.permission ?? props.action, props.alias) : { allowed: true, reason: undefined };
  const reason = !granted.allowed ? granted.reason : props.disabledReason ?? undefined;
  const disabled = !who || !granted.allowed || !!props.disabledReason || !!props.busy;
  const kind = props.kind ?? 'plain';
  return (
    <button
      type="button"
      className={`jp-Button jp-mod-styled nbr-ActionButton ${kind === 'plain' ? '' : `jp-mod-${kind}`} ${props.className ?? ''}`}
      data-action={props.action}
      data-alias={props.alias}
      disabled={disabled}
      aria-busy={props.busy || undefined}
      title={reason ?? props.title}
      onClick={props.onClick}
    >
      {props.busy && <span className="nbr-Spinner" aria-hidden="true" />}
      {props.children}
    </button>
  );
}

/** Promotion: check the gates, promote with a reason, show refusals once; one-step rollback naming its target. */
import * as React from 'react';
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { ApiError, errorMessage, sendJSON } from './api';
import { useRegistry } from './context';
import { GateReport } from './types';
import { ErrorBox, useAction } from './ui';
import { ActionButton } from './whoami';

export function GateReportView(props: { report: GateReport; message?: string | null }) {
  const { report } = props;
  return (
    <div className={`nbr-GateReport ${report.allowed ? 'nbr-mod-allowed' : 'nbr-mod-refused'}`} role={report.allowed ? 'status' : 'alert'}>
      <div className="nbr-GateReport-verdict">
        {report.allowed ? '✓' : '✗'} {report.ref} → @{report.alias}: {report.allowed ? 'allowed' : 'refused'}
      </div>
      {report.gates.length === 0 ? (
        <div className="nbr-Muted">No gates for this alias.</div>
      ) : (
        <ul className="nbr-Gates">
          {report.gates.map((gate, index) => (
            <li key={index} className={gate.passed ? 'nbr-Gate-passed' : 'nbr-Gate-failed'}>
              <span className="nbr-Gate-mark">{gate.passed ? '✓' : '✗'}</span>
              <strong>{gate.name}</strong>
              {gate.detail ? <span className="nbr-Gate-detail"> — {gate.detail}</span> : null}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function PromoteForm(props: { versionRef: string; model: string; knownAliases: string[] }) {
  const { refresh } = useRegistry();
  const [alias, setAlias] = React.useState('');
  const [reason, setReason] = React.useState('');
  const [report, setReport] = React.useState<GateReport | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [message, setMessage] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState<'check' | 'promote' | null>(null);
  const target = alias.trim();

  const run = async (action: 'check' | 'promote') => {
    setBusy(action);
    setError(null);
    setMessage(null);
    setReport(null);
    const body: Record<string, unknown> = { ref: props.versionRef, alias: target };
    try {
      if (action === 'check') {
        setReport(await sendJSON<GateReport>('POST', 'check', body));
      } else {
        if (reason.trim()) {
          body.reason = reason.trim();
        }
        const move = await sendJSON<{ alias: string; version: number | null; previous: number | null }>('POST', 'promote', body);
        setMessage(
          `@${move.alias} now points at v${move.version}` +
            (move.previous !== null && move.previous !== undefined ? ` (was v${move.previous})` : '')
        );
        setReason('');
        refresh();
      }
    } catch (failure) {
      if (failure instanceof ApiError && failure.body?.report) {
        // The report names every failed gate: it is the message, shown once.
        setReport(failure.body.report as GateReport);
      } else {
        setError(errorMessage(failure));
      }
    } finally {
      setBusy(null);
    }
  };

  const noAlias = target ? null : 'Name the alias first, e.g. production';
  return (
    <div className="nbr-PromoteForm">
      <div className="nbr-FormGrid">
        <label>
          alias
          <input
            className="jp-mod-styled nbr-AliasInput"
            placeholder="e.g. production"
            aria-label="alias"
            list={`nbr-known-aliases-${props.model}`}
            value={alias}
            onChange={event => setAlias(event.target.value)}
          />
        </label>
        <datalist id={`nbr-known-aliases-${props.model}`}>
          {props.knownAliases.map(a => (
            <option key={a} value={a} />
          ))}
        </datalist>
        <label>
          reason
          <input
            className="jp-mod-styled nbr-ReasonInput"
            placeholder="why this version (kept in the alias history)"
            aria-label="reason"
            value={reason}
            onChange={event => setReason(event.target.value)}
          />
        </label>
      </div>
      <div className="nbr-FormRow">
        <ActionButton
          action="check"
          model={props.model}
          className="nbr-CheckButton"
          busy={busy === 'check'}
          disabledReason={noAlias ?? (busy ? 'busy' : null)}
          title="Run the alias's gates without moving it"
          onClick={() => void run('check')}
        >
          Check gates
        </ActionButton>
        <ActionButton
          action="promote"
          alias={target || undefined}
          model={props.model}
          kind="accept"
          className="nbr-PromoteButton"
          busy={busy === 'promote'}
          disabledReason={noAlias ?? (busy ? 'busy' : null)}
          title={target ? `Point @${target} at ${props.versionRef}` : undefined}
          onClick={() => void run('promote')}
        >
          Promote{target ? ` to @${target}` : ''}
        </ActionButton>
      </div>
      <ErrorBox message={error} onDismiss={() => setError(null)} />
      {message && (
        <div className="nbr-Success" role="status">
          {message}
        </div>
      )}
      {report && <GateReportView report={report} />}
    </div>
  );
}

/** A confirm dialog's body (rollback, revert): names what will happen and asks for a reason. */
export class ReasonBody extends Widget {
  constructor(
    text: string,
    options: { className?: string; placeholder?: string; label?: string } = {}
  ) {
    super();
    this.addClass('nbr-ReasonDialog');
    const p = document.createElement('p');
    p.textContent = text;
    this._input = document.createElement('input');
    this._input.className = `jp-mod-styled ${options.className ?? 'nbr-RollbackReason'}`;
    this._input.placeholder = options.placeholder ?? 'reason (kept in the alias history)';
    this._input.setAttribute('aria-label', options.label ?? 'rollback reason');
    this.node.append(p, this._input);
  }
  getValue(): string {
    return this._input.value;
  }
  private _input: HTMLInputElement;
}

/**
 * Move `model@alias` back to `target`, the version it held before its last move. Not offered when
 * there is none (the alias was only ever set once).
 */
export function RollbackButton(props: { model: string; alias: string; target: number | null; current?: number }) {
  const { refresh } = useRegistry();
  const { busy, error, setError, run } = useAction();
  const aliasRef = `${props.model}@${props.alias}`;
  if (props.target === null) {
    return <span className="nbr-Muted nbr-NoRollback">nothing to roll back to</span>;
  }
  const rollback = async () => {
    const answer = await showDialog<string>({
      title: `Roll back @${props.alias}`,
      body: new ReasonBody(`Move ${aliasRef} back to v${props.target}, the version it held before its last move?`),
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: `Roll back to v${props.target}` })]
    });
    if (!answer.button.accept) {
      return;
    }
    const reason = (answer.value ?? '').trim();
    await run(async () => {
      await sendJSON('POST', 'rollback', { ref: aliasRef, reason: reason || `rolled back to v${props.target} from the app` });
      refresh();
    });
  };
  return (
    <span className="nbr-Rollback">
      <ActionButton
        action="rollback"
        alias={props.alias}
        model={props.model}
        kind="warn"
        className="nbr-RollbackButton"
        busy={busy}
        title={`Move ${aliasRef} back to v${props.target}`}
        onClick={() => void rollback()}
      >
        Roll back to v{props.target}
      </ActionButton>
      <ErrorBox message={error} onDismiss={() => setError(null)} />
    </span>
  );
}

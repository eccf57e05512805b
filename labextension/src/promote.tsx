/** Promotion: preview the gate report, promote, show refusals; one-step rollback. */
import * as React from 'react';

import { Dialog, showDialog } from '@jupyterlab/apputils';

import { ApiError, errorMessage, sendJSON } from './api';
import { useRegistry } from './context';
import { GateReport } from './types';
import { ErrorBox } from './ui';

export function GateReportView(props: { report: GateReport }) {
  const { report } = props;
  return (
    <div className={`nbr-GateReport ${report.allowed ? 'nbr-mod-allowed' : 'nbr-mod-refused'}`}>
      <div className="nbr-GateReport-verdict">
        {report.allowed ? '✓' : '✗'} {report.ref} → @{report.alias}:{' '}
        {report.allowed ? 'allowed' : 'refused'}
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

export function PromoteForm(props: { versionRef: string; knownAliases: string[] }) {
  const { refresh } = useRegistry();
  const [alias, setAlias] = React.useState('');
  const [reason, setReason] = React.useState('');
  const [report, setReport] = React.useState<GateReport | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [message, setMessage] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);

  const run = async (action: 'check' | 'promote') => {
    if (!alias.trim()) {
      setError('Name the alias to promote to, e.g. production.');
      return;
    }
    setBusy(true);
    setError(null);
    setMessage(null);
    const body: Record<string, unknown> = { ref: props.versionRef, alias: alias.trim() };
    try {
      if (action === 'check') {
        setReport(await sendJSON<GateReport>('POST', 'check', body));
      } else {
        if (reason.trim()) {
          body.reason = reason.trim();
        }
        const move = await sendJSON<{ alias: string; version: number | null; previous: number | null }>(
          'POST',
          'promote',
          body
        );
        setReport(null);
        setMessage(
          `@${move.alias} now points at v${move.version}` +
            (move.previous !== null && move.previous !== undefined ? ` (was v${move.previous})` : '')
        );
        refresh();
      }
    } catch (failure) {
      if (failure instanceof ApiError && failure.body?.report) {
        setReport(failure.body.report as GateReport);
      }
      setError(errorMessage(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="nbr-PromoteForm">
      <div className="nbr-FormRow">
        <input
          className="jp-mod-styled nbr-AliasInput"
          placeholder="alias (e.g. production)"
          aria-label="alias"
          list="nbr-known-aliases"
          value={alias}
          onChange={event => setAlias(event.target.value)}
        />
        <datalist id="nbr-known-aliases">
          {props.knownAliases.map(a => (
            <option key={a} value={a} />
          ))}
        </datalist>
        <input
          className="jp-mod-styled nbr-ReasonInput"
          placeholder="reason"
          aria-label="reason"
          value={reason}
          onChange={event => setReason(event.target.value)}
        />
      </div>
      <div className="nbr-FormRow">
        <button className="jp-Button jp-mod-styled jp-mod-reject nbr-CheckButton" disabled={busy} onClick={() => run('check')}>
          Check gates
        </button>
        <button className="jp-Button jp-mod-styled jp-mod-accept nbr-PromoteButton" disabled={busy} onClick={() => run('promote')}>
          Promote
        </button>
      </div>
      <ErrorBox message={error} onDismiss={() => setError(null)} />
      {message && <div className="nbr-Success">{message}</div>}
      {report && <GateReportView report={report} />}
    </div>
  );
}

/** Move `name@alias` back to the version it held before its last move. */
export function RollbackButton(props: { aliasRef: string }) {
  const { refresh } = useRegistry();
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);
  const rollback = async () => {
    const answer = await showDialog({
      title: 'Roll back',
      body: `Move ${props.aliasRef} back to the version it held before its last move?`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Rollback' })]
    });
    if (!answer.button.accept) {
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await sendJSON('POST', 'rollback', { ref: props.aliasRef, reason: 'rollback from the side panel' });
      refresh();
    } catch (reason) {
      setError(errorMessage(reason));
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="nbr-Rollback">
      <button
        className="jp-Button jp-mod-styled jp-mod-warn nbr-RollbackButton"
        disabled={busy}
        title={`Roll ${props.aliasRef} back one step`}
        onClick={rollback}
      >
        Rollback
      </button>
      <ErrorBox message={error} onDismiss={() => setError(null)} />
    </span>
  );
}

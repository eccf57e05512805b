/**
 * "Revert to this version" (POST /revert, core/versioning.py): a new version with this one's
 * artifacts, signature, input example, lineage, params, metrics and tags, recorded as a revert.
 * The dialog names the version it will create (the model's `last_version` + 1) and asks why.
 */
import * as React from 'react';
import { Dialog, showDialog } from '@jupyterlab/apputils';

import { sendJSON } from './api';
import { useRegistry } from './context';
import { ReasonBody } from './promote';
import { Model, ModelVersion } from './types';
import { ErrorBox, LinkButton, useAction } from './ui';
import { ActionButton } from './whoami';

export function RevertButton(props: { version: ModelVersion; model: Model | null }) {
  const { refresh, navigate } = useRegistry();
  const { busy, error, setError, run } = useAction();
  const [created, setCreated] = React.useState<string | null>(null);
  const v = props.version;
  const ref = `${v.name}:${v.version}`;
  const last = props.model?.last_version ?? props.model?.latest_version ?? null;
  const next = last === null ? null : `${v.name}:${last + 1}`;
  const revert = async () => {
    const answer = await showDialog<string>({
      title: `Revert to ${ref}`,
      body: new ReasonBody(
        `Create ${next ?? 'a new version'}: a new version of ${v.name} with ${ref}'s artifacts, signature, input ` +
          `example, lineage, params, metrics and tags, recorded as a revert of ${ref}. No alias moves.`,
        { className: 'nbr-RevertReason', placeholder: 'reason (kept with the new version)', label: 'revert reason' }
      ),
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: next ? `Create ${next}` : 'Revert' })]
    });
    if (!answer.button.accept) {
      return;
    }
    const reason = (answer.value ?? '').trim();
    await run(async () => {
      const made = await sendJSON<ModelVersion>('POST', 'revert', { ref, ...(reason ? { reason } : {}) });
      setCreated(made.ref || `${made.name}:${made.version}`);
      refresh();
    });
  };
  return (
    <div className="nbr-Revert">
      <div className="nbr-Muted">
        A new version with {ref}'s artifacts and metadata{next ? `: ${next}` : ''}. Nothing is copied; aliases stay where they are.
      </div>
      <ActionButton
        action="revert"
        permission="register"
        model={v.name}
        kind="warn"
        className="nbr-RevertButton"
        busy={busy}
        disabledReason={props.model ? null : 'loading the model…'}
        title={next ? `Create ${next} from ${ref}` : undefined}
        onClick={() => void revert()}
      >
        Revert to this version
      </ActionButton>
      {created && (
        <div className="nbr-Success" role="status">
          Created <LinkButton onClick={() => navigate({ kind: 'version', ref: created })}>{created}</LinkButton>, a revert of {ref}.
        </div>
      )}
      <ErrorBox message={error} onDismiss={() => setError(null)} />
    </div>
  );
}

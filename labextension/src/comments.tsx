/**
 * Discussion of a model or a version: threads (reply, edit and delete your own), anchors picked from
 * the page's fields, and for versions reviews with a summary of whose approval counts.
 */
import * as React from 'react';

import { errorMessage, sendJSON, withQuery } from './api';
import { useRegistry } from './context';
import { Markdown } from './markdown';
import { Comment, identityCounts, ReviewState, Verdict } from './types';
import { Chip, ErrorBox, Time, useAction, useFetch } from './ui';
import { ActionButton } from './whoami';

/** `target`: a model name (its own comments) or a version ref; `anchors`: fields a comment may point at. */
export function CommentThreads(props: { target: string; anchors?: string[]; reviews?: boolean }) {
  const { refreshKey, refresh } = useRegistry();
  const { data, error, reload } = useFetch<{ comments: Comment[] }>(withQuery('comments', { ref: props.target }), refreshKey);
  const comments = data?.comments ?? [];
  const roots = comments.filter(c => c.reply_to === null || !comments.some(p => p.id === c.reply_to));
  const replies = (id: number) => comments.filter(c => c.reply_to === id);
  const model = props.target.split(/[:@]/)[0];

  return (
    <div className="nbr-Comments">
      <ErrorBox message={error} />
      {!data && !error && <div className="nbr-Muted">Loading comments…</div>}
      {data && !comments.length && <div className="nbr-Muted">No comments yet.</div>}
      {roots.map(comment => (
        <div className="nbr-Thread" key={comment.id}>
          <CommentView comment={comment} target={props.target} model={model} onChanged={reload} />
          <div className="nbr-Replies">
            {replies(comment.id).map(reply => (
              <CommentView key={reply.id} comment={reply} target={props.target} model={model} onChanged={reload} />
            ))}
          </div>
        </div>
      ))}
      <NewComment target={props.target} model={model} anchors={props.anchors ?? []} reviews={!!props.reviews} onPosted={props.reviews ? refresh : reload} />
    </div>
  );
}

/** Who approved, whose approval counts, and why some do not. */
export function ReviewSummary(props: { versionRef: string; author: string }) {
  const { refreshKey } = useRegistry();
  const state = useFetch<ReviewState>(withQuery('review-state', { ref: props.versionRef }), refreshKey);
  if (!state.data) {
    return <ErrorBox message={state.error} />;
  }
  const s = state.data;
  const unverified = s.unverified_ignored ?? [];
  const self = s.self_reviews_ignored ?? [];
  return (
    <div className="nbr-ReviewSummary" data-approvals={s.approvals.length}>
      <div className="nbr-ReviewSummary-line">
        <strong>
          {s.approvals.length} approval{s.approvals.length === 1 ? '' : 's'} count
        </strong>
        {s.approvals.length > 0 && <span>: {s.approvals.join(', ')}</span>}
      </div>
      {s.changes_requested.length > 0 && (
        <div className="nbr-ReviewSummary-line nbr-mod-changes">changes requested by {s.changes_requested.join(', ')}</div>
      )}
      {self.map(name => (
        <div key={name} className="nbr-ReviewSummary-line nbr-SelfReview" data-reviewer={name}>
          {name} reviewed their own version: a self-approval does not count
        </div>
      ))}
      {unverified.map(name => (
        <div key={name} className="nbr-ReviewSummary-line nbr-UncountedReview" data-reviewer={name}>
          {name}'s review is from an unverified identity (imported, or a shared token): not counted
        </div>
      ))}
      <div className="nbr-Muted">Only reviewers other than the author ({props.author}), with a verified identity, count.</div>
    </div>
  );
}

function IdentityChip(props: { comment: Comment }) {
  const { comment } = props;
  if (identityCounts(comment.identity)) {
    return null;
  }
  const label = comment.identity === 'imported' ? 'imported' : comment.claimed_by ? `claimed: ${comment.claimed_by}` : comment.identity ?? '';
  return <Chip kind="uncounted" label={label} title={`identity ${comment.identity}: shown for history, never counted`} />;
}

function CommentView(props: { comment: Comment; target: string; model: string; onChanged: () => void }) {
  const { userNames } = useRegistry();
  const { comment } = props;
  const [mode, setMode] = React.useState<'view' | 'reply' | 'edit'>('view');
  const { busy, error, setError, run } = useAction();
  const own = userNames.includes(comment.author) && identityCounts(comment.identity);

  const remove = () =>
    run(async () => {
      await sendJSON('DELETE', `comments/${comment.id}`);
      props.onChanged();
    });

  return (
    <div
      className={`nbr-Comment${comment.deleted ? ' nbr-mod-deleted' : ''}`}
      data-comment-id={comment.id}
      data-anchor={comment.anchor ?? undefined}
    >
      <div className="nbr-Comment-header">
        <strong className="nbr-Comment-author">{comment.author}</strong>
        <IdentityChip comment={comment} />
        <span className="nbr-Muted">
          <Time iso={comment.created_at} />
          {comment.edited_at ? ' (edited)' : ''}
        </span>
        {comment.verdict && <Chip kind={comment.verdict} label={comment.verdict === 'approve' ? 'approved' : 'changes requested'} />}
        {comment.anchor && <Chip kind="tag" label={`on ${comment.anchor}`} title="anchored to this field" />}
      </div>
      {comment.deleted ? (
        <div className="nbr-Muted">(deleted)</div>
      ) : mode === 'edit' ? (
        <CommentEditor
          initial={comment.body}
          submitLabel="Save"
          onCancel={() => setMode('view')}
          onSubmit={async body => {
            await sendJSON('PATCH', `comments/${comment.id}`, { body });
            setMode('view');
            props.onChanged();
          }}
        />
      ) : (
        comment.body && (
          <div className="nbr-Comment-body">
            <Markdown source={comment.body} />
          </div>
        )
      )}
      {!comment.deleted && mode === 'view' && (
        <div className="nbr-Comment-actions">
          <ActionButton action="reply" permission="comment" model={props.model} className="jp-mod-minimal nbr-ReplyButton" onClick={() => setMode('reply')}>
            Reply
          </ActionButton>
          {own && (
            <>
              <button type="button" className="jp-Button jp-mod-minimal nbr-EditButton" onClick={() => setMode('edit')}>
                Edit
              </button>
              <ActionButton
                action="delete-comment"
                permission="comment"
                model={props.model}
                className="jp-mod-minimal nbr-DeleteComment"
                busy={busy}
                title="Delete your comment (replies stay)"
                onClick={() => void remove()}
              >
                Delete
              </ActionButton>
            </>
          )}
        </div>
      )}
      <ErrorBox message={error} onDismiss={() => setError(null)} />
      {mode === 'reply' && (
        <CommentEditor
          submitLabel="Reply"
          onCancel={() => setMode('view')}
          onSubmit={async body => {
            await sendJSON('POST', 'comments', { ref: props.target, body, reply_to: comment.reply_to ?? comment.id });
            setMode('view');
            props.onChanged();
          }}
        />
      )}
    </div>
  );
}

function CommentEditor(props: {
  initial?: string;
  submitLabel: string;
  onSubmit: (body: string) => Promise<void>;
  onCancel?: () => void;
}) {
  const [body, setBody] = React.useState(props.initial ?? '');
  const { busy, error, run } = useAction();
  const submit = async () => {
    if (body.trim()) {
      await run(() => props.onSubmit(body));
    }
  };
  return (
    <div className="nbr-CommentEditor">
      <textarea className="jp-mod-styled nbr-CommentInput" rows={3} placeholder="Markdown" value={body} onChange={e => setBody(e.target.value)} />
      <div className="nbr-FormRow">
        <button type="button" className="jp-Button jp-mod-styled jp-mod-accept" disabled={busy || !body.trim()} onClick={() => void submit()}>
          {props.submitLabel}
        </button>
        {props.onCancel && (
          <button type="button" className="jp-Button jp-mod-styled jp-mod-reject" onClick={props.onCancel}>
            Cancel
          </button>
        )}
      </div>
      <ErrorBox message={error} />
    </div>
  );
}

/** The box at the end of the threads: comment (optionally anchored), or review with a verdict. */
function NewComment(props: { target: string; model: string; anchors: string[]; reviews: boolean; onPosted: () => void }) {
  const [body, setBody] = React.useState('');
  const [anchor, setAnchor] = React.useState('');
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState<string | null>(null);

  const post = async (verdict: Verdict | null) => {
    setBusy(verdict ?? 'comment');
    setError(null);
    try {
      if (verdict) {
        await sendJSON('POST', 'reviews', { ref: props.target, verdict, body });
      } else {
        await sendJSON('POST', 'comments', { ref: props.target, body, anchor: anchor || undefined });
      }
      setBody('');
      setAnchor('');
      props.onPosted();
    } catch (reason) {
      setError(errorMessage(reason));
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className="nbr-NewComment">
      <textarea
        className="jp-mod-styled nbr-CommentInput nbr-NewCommentInput"
        rows={3}
        placeholder={props.reviews ? 'Comment (markdown), or a note for your review' : 'Comment (markdown)'}
        aria-label="new comment"
        value={body}
        onChange={event => setBody(event.target.value)}
      />
      <div className="nbr-FormRow">
        {props.anchors.length > 0 && (
          <select
            className="jp-mod-styled nbr-AnchorPicker"
            aria-label="anchor the comment to a field"
            title="Anchor the comment to a field of this page"
            value={anchor}
            onChange={event => setAnchor(event.target.value)}
          >
            <option value="">not anchored</option>
            {props.anchors.map(a => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        )}
        <ActionButton
          action="comment"
          model={props.model}
          kind="accept"
          className="nbr-PostComment"
          busy={busy === 'comment'}
          disabledReason={!body.trim() ? 'Write the comment first' : busy ? 'busy' : null}
          onClick={() => void post(null)}
        >
          Comment
        </ActionButton>
        {props.reviews && (
          <>
            <span className="nbr-Spacer" />
            <ActionButton
              action="approve"
              permission="review"
              model={props.model}
              className="nbr-Approve"
              busy={busy === 'approve'}
              disabledReason={busy ? 'busy' : null}
              onClick={() => void post('approve')}
            >
              Approve
            </ActionButton>
            <ActionButton
              action="request-changes"
              permission="review"
              model={props.model}
              kind="warn"
              className="nbr-RequestChanges"
              busy={busy === 'request-changes'}
              disabledReason={busy ? 'busy' : null}
              onClick={() => void post('request-changes')}
            >
              Request changes
            </ActionButton>
          </>
        )}
      </div>
      <ErrorBox message={error} onDismiss={() => setError(null)} />
    </div>
  );
}

/**
 * JSON shapes of the nbregistry REST API (docs/rest-api.md).
 * These mirror the core's `to_dict()` forms; keep them in step with that file.
 */

export interface Model {
  name: string;
  description: string;
  tags: Record<string, string>;
  created_at: string;
  created_by: string;
  archived: boolean;
  latest_version: number | null;
  version_count: number;
  aliases: Record<string, number>;
  /** Lists only: the newest version's created_at. */
  updated_at?: string;
  /** Lists with ?metric=: that metric of the latest version. */
  latest_metric?: number | null;
  /** The highest version number given so far (archived too): a new version gets the next one. */
  last_version?: number | null;
}

export interface ColumnSignature {
  type: 'dataframe';
  columns: { name: string; dtype: string }[];
}

export interface TensorSignature {
  type: 'tensor';
  shape: number[];
  dtype: string;
}

export interface DataFingerprint {
  sha256?: string;
  shape?: number[];
  columns?: string[];
  dtypes?: Record<string, string> | string[];
  kind?: string;
}

export interface NotebookLineage {
  path: string | null;
  cells: { execution_count: number | null; source: string }[];
  warnings: string[];
}

export interface Lineage {
  python?: string;
  platform?: string;
  packages?: { name: string; version: string; imported: boolean }[];
  git?: { commit: string; branch: string; dirty: boolean; remote: string | null } | null;
  data?: Record<string, DataFingerprint>;
  notebook?: NotebookLineage | null;
  /** Set on a revert (POST /revert): the version it brought back, who did it and why. */
  revert_of?: { ref: string; version: number; reason?: string | null; reverted_by?: string } | null;
}

export interface ModelVersion {
  name: string;
  version: number;
  ref: string;
  created_at: string;
  author: string;
  description: string;
  status: 'active' | 'archived';
  flavor: string;
  tags: Record<string, string>;
  metrics: Record<string, number>;
  params: Record<string, string>;
  aliases: string[];
  signature: ColumnSignature | TensorSignature | null;
  lineage: Lineage;
  artifact: {
    sha256: string;
    size: number;
    files: { path: string; size: number; sha256: string }[];
  };
  has_input_example: boolean;
}

export interface Gate {
  name: string;
  passed: boolean;
  detail: string;
}

export interface GateReport {
  ref: string;
  alias: string;
  allowed: boolean;
  gates: Gate[];
}

export interface AliasMove {
  id: number;
  model: string;
  alias: string;
  version: number | null;
  previous: number | null;
  time: string;
  actor: string;
  reason: string | null;
  kind: 'set' | 'promote' | 'rollback' | 'remove';
  forced: boolean;
  report: GateReport | null;
}

export interface RegistryEvent {
  id: number;
  time: string;
  actor: string;
  origin: string;
  action: string;
  model: string | null;
  version: number | null;
  ref: string | null;
  payload: Record<string, unknown>;
}

export type Verdict = 'approve' | 'request-changes';

export interface Comment {
  id: number;
  model: string;
  version: number | null;
  author: string;
  body: string;
  anchor: string | null;
  reply_to: number | null;
  verdict: Verdict | null;
  created_at: string;
  edited_at: string | null;
  deleted: boolean;
  /** verified | local | shared | imported (contracts.md); only verified and local count. */
  identity?: string;
  /** The name a client claimed where it could not be verified (display only). */
  claimed_by?: string | null;
}

export interface ReviewState {
  approvals: string[];
  changes_requested: string[];
  self_reviews_ignored: string[];
  /** Reviewers whose identity was not verified (imported, shared token): shown, never counted. */
  unverified_ignored?: string[];
}

/** Identities whose reviews count (contracts.md). */
export function identityCounts(identity: string | undefined): boolean {
  return identity === undefined || identity === 'verified' || identity === 'local';
}

/** Payload of `application/vnd.nbregistry.comparison+json` and of GET /compare. */
export interface Comparison {
  schema: string;
  model: string | null;
  versions: {
    ref: string;
    name: string;
    version: number;
    author: string;
    created_at: string;
    aliases: string[];
  }[];
  metrics: Record<
    string,
    { values: (number | null)[]; goal: 'max' | 'min'; best: number[] }
  >;
  params: Record<string, { values: (string | null)[]; differs: boolean }>;
  tags?: Record<string, { values: (string | null)[]; differs: boolean }>;
}

export const COMPARISON_MIME = 'application/vnd.nbregistry.comparison+json';

"""Moving house: copy a whole registry to another backend (``Registry.copy_to``, ``nbregistry move``).

Everything travels as it is: every table's rows with their ids (so version numbers, alias history,
comment threads, reviews with their identities, policies, cards, evaluations, environments, retired
names, events and the webhook delivery log stay exactly what they were), every blob by its hash,
and the id counters (an id the source handed out is never handed out again). Webhook secrets are
re-sealed with the target's key (``secret_box.py``) so they keep signing.

Order, for crash safety: (1) the target's schema exists and every table is empty, else refused;
(2) blobs are streamed over, each hashed on the way, skipping those the target already has;
(3) all rows are written in ONE transaction on the target, then counted against the source and
checked against the blobs. A move killed at any instant leaves no rows in the target (only blobs,
which a re-run skips), so it can simply be run again. The source is only read (one snapshot).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import secret_box
from . import store_copy
from .entities import _Rich
from .errors import Conflict, IntegrityError, RegistryError, ValidationError

ROWS_PER_BATCH = 1000


@dataclass
class MoveReport(_Rich):
    source: str
    target: str
    tables: dict = field(default_factory=dict)   # table -> rows copied
    blobs_copied: int = 0
    blobs_present: int = 0                        # already in the target (a re-run, or a shared bucket)
    bytes_copied: int = 0
    warnings: list = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    def __repr__(self) -> str:
        return (f"<MoveReport {self.source} -> {self.target}: {self.rows} rows in {len(self.tables)} tables, "
                f"{self.blobs_copied} blobs copied ({self.bytes_copied} bytes), {self.blobs_present} already there>")


class _Bars:
    """``progress``: a factory called as ``progress(desc=, total=, unit=)`` (``tqdm`` itself fits),
    returning a bar with ``update(n)`` (and maybe ``close()``) or a plain ``f(n)``."""

    def __init__(self, factory):
        self.factory = factory

    def open(self, desc: str, total: int, unit: str):
        if self.factory is None:
            return _NoBar()
        kwargs = {"unit_scale": True, "unit_divisor": 1024} if unit == "B" else {}
        try:
            bar = self.factory(desc=desc, total=total, unit=unit, **kwargs)
        except TypeError:
            bar = self.factory(desc=desc, total=total, unit=unit)
        return bar if hasattr(bar, "update") else _FunctionBar(bar)


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


class _FunctionBar(_NoBar):
    def __init__(self, f):
        self.f = f

    def update(self, n: int) -> None:
        if self.f is not None:
            self.f(n)


def _describe(reg) -> str:
    return f"{reg.store.engine.describe()} + {reg.objects.url}"  # a PostgreSQL URL without its password


def copy_registry(source, target, *, progress=None, batch: int = ROWS_PER_BATCH) -> MoveReport:
    """Copy everything ``source`` holds into the empty registry ``target`` (see the module doc)."""
    if not hasattr(target, "store") or not hasattr(target, "objects"):
        raise ValidationError("the target of a move must be a registry opened on its own database and object "
                              "store (Registry(root, db=..., objects=...)), not a remote one")
    report = MoveReport(source=_describe(source), target=_describe(target))
    if report.source == report.target:
        raise ValidationError(f"{report.target} is the registry being moved; choose another database and object store")
    bars = _Bars(progress)
    layout = store_copy.tables(source.store.conn)
    names = [t.name for t in layout]
    filled = store_copy.first_filled(target.store.conn, names)
    if filled is not None:
        raise Conflict(f"the target {report.target} is not empty (its {filled} table has rows); "
                       "a registry moves only into an empty database")
    if target.objects.url == source.objects.url:
        raise ValidationError(f"the target's object store is the source's ({source.objects.url}); a prefix belongs to "
                              "one database, so give the target its own (--to-objects)")
    have = _copy_blobs(source, target, report, bars)
    with source.store.read() as src:
        for sha in sorted(source.store.referenced_blobs(src) - have):  # registered during the blob pass
            if not _copy_one(source, target, sha, source.objects.blob_stat(sha), report, _NoBar()):
                raise IntegrityError(f"{source.objects.url} has no blob {sha} although a version references it; "
                                     "run `nbregistry verify` on the source; nothing was moved")
            have.add(sha)
        counters = store_copy.last_ids(src, [t.name for t in layout if t.has_id])
        totals = {t.name: store_copy.count(src, t.name) for t in layout}
        bar = bars.open("rows", sum(totals.values()), "rows")
        try:
            with target.store.write() as dst:
                if store_copy.first_filled(dst, names) is not None:  # someone wrote meanwhile
                    raise Conflict(f"the target {report.target} stopped being empty during the move")
                for table in layout:
                    reseal = _resealer(source, target, table, report)
                    copied = 0
                    for rows in store_copy.read_rows(src, table, batch):
                        store_copy.write_rows(dst, table, [reseal(r) for r in rows] if reseal else rows)
                        copied += len(rows)
                        bar.update(len(rows))
                    if store_copy.count(dst, table.name) != totals[table.name] or copied != totals[table.name]:
                        raise IntegrityError(f"moving {table.name}: {copied} rows read, {totals[table.name]} "
                                             "expected; nothing was written")
                    report.tables[table.name] = copied
                store_copy.continue_ids(dst, counters)
                absent = sorted(target.store.referenced_blobs(dst) - have)
                if absent:
                    raise IntegrityError(f"blob {absent[0]} did not arrive in {target.objects.url}; nothing was written")
        finally:
            if hasattr(bar, "close"):
                bar.close()
    return report


def _copy_blobs(source, target, report: MoveReport, bars: _Bars) -> set:
    """Stream every blob the target lacks; returns the hashes the target now holds. A target holding
    blobs the source does not is another registry's store: refused (an interrupted move's are a subset)."""
    shas = [sha for sha, _handle in source.objects.iter_blobs()]
    present = {sha for sha, _ in target.objects.iter_blobs()}
    foreign = present.difference(shas)
    if foreign:
        raise Conflict(f"the target {report.target} is not empty (its object store holds {len(foreign)} blobs this "
                       "registry does not have); a registry moves only into an empty object store")
    have = set()
    wanted = []
    for sha in shas:
        if sha in present:
            report.blobs_present += 1
            have.add(sha)
        else:
            wanted.append((sha, source.objects.blob_stat(sha)))
    bar = bars.open("blobs", sum(stat[0] for _, stat in wanted if stat), "B")
    try:
        for sha, stat in wanted:
            if _copy_one(source, target, sha, stat, report, bar):
                have.add(sha)
    finally:
        if hasattr(bar, "close"):
            bar.close()
    return have


def _copy_one(source, target, sha: str, stat, report: MoveReport, bar) -> bool:
    if stat is None:  # gone since it was listed (gc): no row can reference it
        return False
    with source.objects.open(sha) as f:
        blob = target.objects.put_stream(f, size_hint=stat[0], progress=bar.update)
    if blob.sha256 != sha:
        raise IntegrityError(f"blob {sha} of {source.objects.url} is damaged (its content hashes to {blob.sha256}); "
                             "run `nbregistry verify` on the source; nothing was moved")
    report.blobs_copied += 1
    report.bytes_copied += blob.size
    return True


def _resealer(source, target, table, report: MoveReport):
    """For the webhooks table: a row function that re-seals each secret with the target's key."""
    if table.name != "webhooks" or "secret" not in table.columns:
        return None
    at = table.columns.index("secret")
    src_root, dst_root = source.store.root, target.store.root  # where each keeps its key

    def reseal(row: tuple) -> tuple:
        try:
            secret = secret_box.unseal(src_root, row[at])
        except RegistryError as exc:
            report.warnings.append(f"webhook #{row[table.columns.index('id')]}: {exc}; copied as it was")
            return row
        return row[:at] + (secret_box.seal(dst_root, secret),) + row[at + 1:]

    return reseal

"""A byte-counting progress bar for long registry operations (tqdm's notebook bar via ``tqdm.auto``).

The core reports progress as ``progress(nbytes)`` calls, one per chunk. ``ByteProgress`` is such a
callable; it stays silent for small artifacts and opens a bar only once ``threshold`` bytes went by,
so registering a 20 KB model prints nothing while a 2 GB one shows a bar.
"""

from __future__ import annotations

DEFAULT_THRESHOLD = 32 * 1024 * 1024


class ByteProgress:
    def __init__(self, label: str, *, total: int | None = None, threshold: int | None = None):
        self.label = label
        self.total = total
        self.threshold = DEFAULT_THRESHOLD if threshold is None else threshold
        self.seen = 0
        self.bar = None

    def __call__(self, nbytes: int) -> None:
        self.seen += nbytes
        if self.bar is None:
            if self.seen < self.threshold:
                return
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.total, desc=self.label, unit="B", unit_scale=True, unit_divisor=1024,
                            leave=False)
            self.bar.update(self.seen)
        else:
            self.bar.update(nbytes)

    def __enter__(self) -> "ByteProgress":
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()

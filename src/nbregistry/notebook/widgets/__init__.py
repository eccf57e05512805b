"""ipywidgets views of the registry (importing this module loads ipywidgets).

- :class:`RegistryBrowser`: models → versions → a version card.
- :class:`ComparisonWidget`: pick versions and metrics, a goal per metric, diff two versions.
- :class:`VersionCard`: one version with its comment thread, a comment box, approve /
  request-changes, and check / promote / rollback buttons that run the core's calls and show the
  gate reports.

Every widget's MIME bundle also carries ``text/html`` (its current state as static HTML), so a saved
notebook still shows something readable on GitHub, nbviewer or after the kernel is gone.
"""

from .browser import RegistryBrowser
from .card import VersionCard
from .comparison import ComparisonWidget

__all__ = ["RegistryBrowser", "ComparisonWidget", "VersionCard"]

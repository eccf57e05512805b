"""Deployment integration: the scoring server (``serve``), exports (MLflow directory, lossless bundle,
Docker build context, Hugging Face folder) and imports (bundles, MLflow registries). See docs/deploy.md.

These are faces: the core reaches the exports and imports through its hooks (``core/hooks.py``) and
never imports this package. Webhooks and batch scoring are core capabilities (``core/webhooks.py``,
``core/batch.py``). Importing this package is cheap; each feature imports its dependencies when used.
"""

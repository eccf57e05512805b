"""Deployment integration: the scoring server (``serve``), exports (MLflow directory, lossless bundle,
Docker build context), imports (bundles, MLflow registries) and webhooks. See docs/deploy.md.

Importing this package is cheap; each feature imports its dependencies when used.
"""

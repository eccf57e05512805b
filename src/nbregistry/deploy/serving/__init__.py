"""The scoring server (``nbregistry serve``): an ASGI app served by uvicorn.

- ``app.py``: the Starlette app (``create_app``), body limits, the routes of both protocols.
- ``mlflow_protocol.py``: MLflow's ``/invocations`` request formats, turned into model input.
- ``v2_protocol.py``: the Open Inference Protocol (KServe V2 REST).
- ``follower.py``: the model being served, following an alias (one per worker process).
- ``metrics.py``: Prometheus text at ``/metrics``, correct across worker processes.
- ``runner.py``: uvicorn with workers, connection limits and timeouts; ``serve()`` in a thread.
- ``errors.py``: errors with MLflow's ``error_code`` values.

Starlette, uvicorn and prometheus-client (the ``serve`` extra) are imported only here.
"""

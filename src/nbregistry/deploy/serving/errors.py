"""Serving errors: an HTTP status with one of MLflow's ``error_code`` values and a message.

MLflow's scoring server answers ``{"error_code": ..., "message": ...}``; the codes used here are
MLflow's own (``mlflow.protos.databricks_pb2.ErrorCode`` names), picked as MLflow picks them:

=========================  ======  ==============================================================
error_code                 status  when
=========================  ======  ==============================================================
BAD_REQUEST                400     the body is not one of the accepted formats (wrong keys, bad CSV),
                                   or the model raised on the input
INVALID_PARAMETER_VALUE    400     the body parsed but does not match the signature (missing column,
                                   wrong dtype, rows without names, bad method), or invalid JSON
BAD_REQUEST                415     no or another Content-Type (MLflow: 415 too)
REQUEST_LIMIT_EXCEEDED     413     the body is over the size limit
BAD_REQUEST                408     the body did not arrive within the body timeout
ENDPOINT_NOT_FOUND         404     no such route (RESOURCE_DOES_NOT_EXIST for another model name)
TEMPORARILY_UNAVAILABLE    503     no model loaded yet, or the served version is stale
INTERNAL_ERROR             500     the model answered something its output schema does not allow
=========================  ======  ==============================================================
"""

from __future__ import annotations

BAD_REQUEST = "BAD_REQUEST"
INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
REQUEST_LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
ENDPOINT_NOT_FOUND = "ENDPOINT_NOT_FOUND"
RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
TEMPORARILY_UNAVAILABLE = "TEMPORARILY_UNAVAILABLE"
INTERNAL_ERROR = "INTERNAL_ERROR"


class ServingError(Exception):
    def __init__(self, status: int, code: str, message: str, *, close: bool = False):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.close = close  # answer with Connection: close (the rest of the body is not read)

    def body(self) -> dict:
        return {"error_code": self.code, "message": self.message}


def bad_input(message: str) -> ServingError:
    return ServingError(400, INVALID_PARAMETER_VALUE, message)


def bad_request(message: str) -> ServingError:
    return ServingError(400, BAD_REQUEST, message)

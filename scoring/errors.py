"""The one exception hierarchy of pmmlkit.

Every error carries a stable snake_case ``code`` and the HTTP ``status`` a service answers with, and
mixes in the builtin a caller would catch (``ModelNotFoundError`` is a ``LookupError``), the way
scikit-learn's exceptions do. Messages say the thing, the rule and what was received. The Java side
(``io.pmmlkit.ScoringException``) uses the same codes; :func:`from_code` maps them back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem of one record: the field (or None for the whole record), a code and a message."""

    field: str | None
    code: str
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


class PmmlkitError(Exception):
    """Base of every pmmlkit error."""

    code = "internal_error"
    status = 500

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def to_dict(self) -> dict:
        """The JSON error body: ``{"error": {"code": ..., "message": ..., "field": ...}}``."""
        body = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return {"error": body}


class InvalidInputError(PmmlkitError, ValueError):
    """A record the model cannot score; ``errors`` lists every problem at once."""

    code = "invalid_input"
    status = 422

    def __init__(self, errors: list[FieldError]):
        if not errors:
            raise ValueError("InvalidInputError needs at least one FieldError")
        super().__init__(
            " ".join(e.message for e in errors), field=errors[0].field, code=errors[0].code
        )
        self.errors = list(errors)

    def to_dict(self) -> dict:
        body = super().to_dict()
        body["error"]["errors"] = [e.to_dict() for e in self.errors]
        return body


class InvalidNameError(PmmlkitError, ValueError):
    code = "invalid_name"
    status = 400


class ModelNotFoundError(PmmlkitError, LookupError):
    code = "model_not_found"
    status = 404


class VersionNotFoundError(ModelNotFoundError):
    code = "version_not_found"


class AliasNotFoundError(ModelNotFoundError):
    code = "alias_not_found"


class ModelNotReadyError(PmmlkitError):
    """A reference whose version failed to load, with no earlier version to serve instead."""

    code = "model_not_ready"
    status = 503


class RequestTimeoutError(PmmlkitError, TimeoutError):
    """A request that took longer than ``request_timeout`` to arrive or to score."""

    code = "timeout"
    status = 503


class InvalidModelError(PmmlkitError, ValueError):
    """A PMML document that cannot be served: not PMML, unsupported, or failing its verification."""

    code = "invalid_pmml"
    status = 422


class InvalidCardError(PmmlkitError, ValueError):
    code = "invalid_card"
    status = 422


class VersionInUseError(PmmlkitError):
    code = "version_in_use"
    status = 409


class ChecksumMismatchError(PmmlkitError):
    """A stored model.pmml whose sha256 differs from its card: the store is damaged."""

    code = "checksum_mismatch"
    status = 500


class StoreError(PmmlkitError, OSError):
    """The store cannot be read or written (missing, read-only, full)."""

    code = "store_error"
    status = 500


class ListenError(PmmlkitError, OSError):
    """The service cannot listen on its host and port (in use, not this machine's, refused)."""

    code = "cannot_listen"
    status = 500


class EngineError(PmmlkitError, RuntimeError):
    """The JVM engine cannot start or failed unexpectedly."""

    code = "engine_error"
    status = 500


class ConversionError(PmmlkitError, RuntimeError):
    """sklearn2pmml could not convert a pipeline; the message ends with the converter's output."""

    code = "conversion_failed"
    status = 422


class NotFittedModelError(PmmlkitError, ValueError):
    code = "not_fitted"
    status = 422


class InvalidDataError(PmmlkitError, ValueError):
    """Training or holdout data that does not fit the pipeline (missing target, wrong columns)."""

    code = "invalid_data"
    status = 422


class FidelityError(PmmlkitError):
    """The PMML does not reproduce scikit-learn; ``differences`` names the rows and outputs."""

    code = "fidelity_failed"
    status = 422

    def __init__(self, message: str, differences: list[dict]):
        super().__init__(message)
        self.differences = differences


class PredictionLogError(PmmlkitError):
    """The prediction log is off, or its database cannot be read or written (down, full)."""

    code = "prediction_log_unavailable"
    status = 503


class FeedbackError(PmmlkitError, ValueError):
    """Feedback that names no logged prediction or carries an outcome the model cannot have;
    ``errors`` lists every problem of a feedback batch at once (each with its index)."""

    code = "invalid_feedback"
    status = 422

    def __init__(self, errors: list[tuple[int, FieldError]], status: int):
        first = errors[0][1]
        super().__init__(first.message, field=first.field, code=first.code)
        self.status = status
        self.errors = errors

    def to_dict(self) -> dict:
        body = super().to_dict()
        body["error"]["errors"] = [{"index": i, **e.to_dict()} for i, e in self.errors]
        return body


class ConfigurationError(PmmlkitError, ValueError):
    code = "invalid_setting"
    status = 500


_BY_CODE = {
    "model_not_found": ModelNotFoundError,
    "version_not_found": VersionNotFoundError,
    "alias_not_found": AliasNotFoundError,
    "invalid_name": InvalidNameError,
    "invalid_pmml": InvalidModelError,
    "unsupported_pmml": InvalidModelError,
    "verification_failed": InvalidModelError,
    "checksum_mismatch": ChecksumMismatchError,
    "invalid_store": StoreError,
    "timeout": RequestTimeoutError,
}


def from_code(code: str, message: str, field: str | None = None) -> PmmlkitError:
    """The Python exception for an error code sent by the Java side."""
    cls = _BY_CODE.get(code)
    if cls is None:
        return InvalidInputError([FieldError(field, code, message)])
    return cls(message, field=field, code=code)

"""Rucio's exceptions as vrelab's errors, with the right HTTP status and never a credential.

rucio-clients re-raises the server's exception class by name (the ``ExceptionClass`` header), so
mapping by class name covers both what the client raises itself and what the server answered.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .. import errors

MAX_MESSAGE = 600

# Rucio exception class name -> vrelab error class
_MAP: dict[str, type[errors.VRELabError]] = {
    # 404: the thing named does not exist
    "DataIdentifierNotFound": errors.NotFound,
    "RSENotFound": errors.NotFound,
    "RuleNotFound": errors.NotFound,
    "ScopeNotFound": errors.NotFound,
    "AccountNotFound": errors.NotFound,
    "ReplicaNotFound": errors.NotFound,
    "RSEAttributeNotFound": errors.NotFound,
    "RSEProtocolNotSupported": errors.NotFound,
    "IdentityNotFound": errors.NotFound,
    # 409: the request clashes with the lake's state
    "Duplicate": errors.Conflict,
    "DuplicateRule": errors.Conflict,
    "DataIdentifierAlreadyExists": errors.Conflict,
    "FileAlreadyExists": errors.Conflict,
    "InsufficientAccountLimit": errors.Conflict,
    "InsufficientTargetRSEs": errors.Conflict,
    "RuleReplaceFailed": errors.Conflict,
    "UnsupportedOperation": errors.Conflict,
    "ReplicationRuleCreationTemporaryFailed": errors.Conflict,
    "ScratchDiskLifetimeConflict": errors.Conflict,
    "StagingAreaRuleRequiresLifetime": errors.Conflict,
    "ManualRuleApprovalBlocked": errors.Conflict,
    "RSEWriteBlocked": errors.Conflict,
    # 401 / 403: who you are, and what you may do
    "CannotAuthenticate": errors.Unauthorized,
    "NoAuthInformation": errors.Unauthorized,
    "CannotAuthorize": errors.Forbidden,
    "AccessDenied": errors.Forbidden,
    "AccountSuspended": errors.Forbidden,
    # 400: the request itself is wrong
    "InvalidObject": errors.BadRequest,
    "InvalidType": errors.BadRequest,
    "InvalidValueForKey": errors.BadRequest,
    "InvalidRSEExpression": errors.BadRequest,
    "InvalidReplicationRule": errors.BadRequest,
    "InvalidRuleWeight": errors.BadRequest,
    "InputValidationError": errors.BadRequest,
    "KeyNotFound": errors.BadRequest,
    "InvalidMetadata": errors.BadRequest,
    "InvalidPath": errors.BadRequest,
    "UnsupportedValueType": errors.BadRequest,
    "UnsupportedKeyType": errors.BadRequest,
}
_BY_STATUS: dict[int, type[errors.VRELabError]] = {
    401: errors.Unauthorized,
    403: errors.Forbidden,
    404: errors.NotFound,
    409: errors.Conflict,
}
# the connection itself failed: the lake is down or unreachable (503)
_UNREACHABLE = {"ServerConnectionException", "ConnectionError", "ConnectTimeout", "ReadTimeout", "Timeout"}


# Rucio's own words for these are a database error or too vague
_MESSAGES = {
    "DuplicateRule": "You already have this rule: same DID, RSE expression and number of copies.",
    "InsufficientAccountLimit": "Not enough quota left on the RSE(s) for this rule (see GET rses for your quota).",
}


def _message(exc: BaseException, redact: Callable[[str], str]) -> str:
    text = str(exc).strip()
    # Rucio's messages start with a generic sentence, then "Details: <the specific part>"
    head, _, detail = text.partition("Details:")
    text = (detail or head).strip() or type(exc).__name__
    text = redact(" ".join(text.split()))
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _is_rucio(exc: BaseException) -> bool:
    return any(c.__name__ == "RucioException" for c in type(exc).__mro__)


def translate(exc: BaseException, host: str, redact: Callable[[str], str] = str) -> errors.VRELabError | None:
    """The vrelab error for a Rucio (or transport) exception, or None for anything else."""
    name = type(exc).__name__
    mro = {c.__name__ for c in type(exc).__mro__}
    if isinstance(exc, StopIteration):  # rucio-clients reading an empty answer (and it must not reach asyncio)
        return errors.UpstreamError(f"The data lake at {host} gave an empty answer.", details={"rucio_error": name})
    if name in _MAP:
        cls = _MAP[name]
        message = _MESSAGES.get(name) or _message(exc, redact)
        if cls is errors.Unauthorized:
            message = f"The data lake at {host} did not accept your credentials: {message}"
        return cls(message, details={"rucio_error": name})
    if "SSLError" in mro and "verify failed" not in str(exc) and "hostname" not in str(exc):
        return errors.Unauthorized(
            f"Your certificate or key could not be used to log in to the data lake at {host}: {_message(exc, redact)}",
            details={"rucio_error": name},
        )
    if "SSLError" in mro:
        return errors.UpstreamError(
            f"The secure connection to the data lake at {host} failed (is the instance's ca_cert right?): "
            f"{_message(exc, redact)}",
            details={"rucio_error": name},
        )
    if "Timeout" in mro or "TimeoutError" in mro:
        return errors.Unavailable(
            f"The data lake at {host} did not answer in time; it may be overloaded or down — try again later.",
            details={"rucio_error": name},
        )
    if mro & _UNREACHABLE or isinstance(exc, ConnectionError):
        return errors.Unavailable(
            f"The data lake at {host} cannot be reached; it may be down — try again later.",
            details={"rucio_error": name},
        )
    if _is_rucio(exc):
        # a Rucio answer without an exception class (a proxy in front of Rucio, a URL it could not route)
        status = re.search(r"http status code: (\d{3})", str(exc))
        code = int(status.group(1)) if status else 500
        if code in _BY_STATUS:
            message = f"The data lake at {host} answered: {_message(exc, redact)}"
            return _BY_STATUS[code](message, details={"rucio_error": name})
        if code == 503:
            message = f"The data lake at {host} is unavailable (HTTP 503); try again later."
            return errors.Unavailable(message, details={"rucio_error": name})
        return errors.UpstreamError(
            f"The data lake at {host} answered with an error: {_message(exc, redact)}", details={"rucio_error": name}
        )
    if isinstance(exc, OSError):  # a certificate or key file that cannot be read, for instance
        return errors.Unauthorized(f"A file of your credentials cannot be used: {exc.strerror or exc}.")
    return None


@contextmanager
def rucio_errors(host: str, redact: Callable[[str], str] = str) -> Iterator[None]:
    """Translate what a block of rucio-clients calls raises; anything unknown passes unchanged."""
    try:
        yield
    except errors.VRELabError:
        raise
    except Exception as exc:
        mapped = translate(exc, host, redact)
        if mapped is None:
            raise
        raise mapped from None

"""Error reporting to Sentry (optional: ``SENTRY_DSN``), scrubbed of secrets before anything leaves.

settings.py calls :func:`init_sentry` in every process (interface server, scheduler, workers;
Django and Celery errors are captured by Sentry's integrations). Workers wrap each job in
:func:`sentry_tags` so an error is tagged with the job kind and the cloud it was working on.

Scrubbing, in two passes:

1. an event processor, on the raw event (before Sentry serializes it): any
   :class:`~insightcloud.crypto.SecretDict` is replaced wholesale, and its values are remembered
   so that a string that merely *contains* one (an f-string in a local variable, a log
   message) has it cut out too;
2. ``before_send`` / ``before_breadcrumb``: every value under a key that looks sensitive
   (secret, password, token, key, credential, authorization, cookie, session, dsn) is replaced,
   as is any occurrence of the secrets this process is configured with (database and Redis
   passwords, the two keys, the proxy password).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

FILTERED = "[Filtered]"
SENSITIVE_KEY = re.compile(r"secret|passw|token|key|credential|authorization|cookie|session|dsn|signature", re.I)
_MIN_SECRET_LENGTH = 4  # shorter values would cut ordinary words out of messages
_MAX_DEPTH = 20

_configured_secrets: set[str] = set()


def process_kind(argv: list[str] | None = None) -> str:
    """interfaceserver, scheduler, worker, testdrive … from ``manage.py <command>``; else the program name."""
    argv = sys.argv if argv is None else argv
    if len(argv) > 1 and argv[0].endswith("manage.py"):
        return argv[1]
    if argv and "celery" in argv[0]:
        return "worker"
    return "other"


def _secret_dict_type() -> type | None:
    try:
        from insightcloud.crypto import SecretDict
    except Exception:  # settings not ready: nothing can hold a SecretDict yet
        return None
    return SecretDict


def _collect_secret_values(value: Any, secret_type: type | None, found: set[str], depth: int = 0) -> None:
    if depth > _MAX_DEPTH:
        return
    if secret_type is not None and isinstance(value, secret_type):
        for item in value.values():
            _add_secret(found, item)
        return
    if isinstance(value, dict):
        for item in value.values():
            _collect_secret_values(item, secret_type, found, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _collect_secret_values(item, secret_type, found, depth + 1)


def _add_secret(found: set[str], value: Any) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _add_secret(found, item)
    elif value is not None and not isinstance(value, bool):
        text = str(value)
        if len(text) >= _MIN_SECRET_LENGTH:
            found.add(text)


def scrub(value: Any, secrets: set[str] | frozenset[str] = frozenset(), depth: int = 0) -> Any:
    """``value`` with sensitive keys, SecretDicts and known secret strings replaced by ``[Filtered]``."""
    if depth > _MAX_DEPTH:
        return FILTERED
    secret_type = _secret_dict_type()
    if secret_type is not None and isinstance(value, secret_type):
        return {key: FILTERED for key in value}
    if isinstance(value, dict):
        return {
            key: FILTERED if isinstance(key, str) and SENSITIVE_KEY.search(key) else scrub(item, secrets, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(item, secrets, depth + 1) for item in value]
    if isinstance(value, str):
        for secret in sorted(secrets, key=len, reverse=True):
            if secret in value:
                value = value.replace(secret, FILTERED)
        return value
    return value


def _scrub_event(event: dict[str, Any], secrets: set[str]) -> dict[str, Any]:
    # Frames' local variables: keys are variable names, so the key rule applies to them too.
    for exception in (event.get("exception") or {}).get("values") or []:
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            if "vars" in frame:
                frame["vars"] = scrub(frame["vars"], secrets)
        if isinstance(exception.get("value"), str):
            exception["value"] = scrub(exception["value"], secrets)
    for thread in (event.get("threads") or {}).get("values") or []:
        for frame in (thread.get("stacktrace") or {}).get("frames") or []:
            if "vars" in frame:
                frame["vars"] = scrub(frame["vars"], secrets)
    for section in ("extra", "contexts", "request", "user", "logentry", "message"):
        if section in event:
            event[section] = scrub(event[section], secrets)
    crumbs = event.get("breadcrumbs")
    if isinstance(crumbs, dict) and "values" in crumbs:
        crumbs["values"] = scrub(crumbs["values"], secrets)
    elif isinstance(crumbs, list):
        event["breadcrumbs"] = scrub(crumbs, secrets)
    return event


def _secrets_in_traceback(hint: dict[str, Any], secret_type: type | None) -> set[str]:
    """Values of every SecretDict the failing frames could see (locals, and attributes of locals)."""
    found: set[str] = set()
    exc_info = (hint or {}).get("exc_info")
    if not exc_info or secret_type is None:
        return found
    exc: BaseException | None = exc_info[1]
    seen_exceptions: set[int] = set()
    while exc is not None and id(exc) not in seen_exceptions:
        seen_exceptions.add(id(exc))
        tb = exc.__traceback__
        while tb is not None:
            for value in tb.tb_frame.f_locals.values():
                _collect_secret_values(value, secret_type, found)
                attributes = getattr(value, "__dict__", None)
                if isinstance(attributes, dict):  # a model instance holding credentials, a context object
                    _collect_secret_values(attributes, secret_type, found)
            tb = tb.tb_next
        exc = exc.__cause__ or exc.__context__
    return found


def secret_values_processor(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """Event processor: remove SecretDicts and every string holding one of their values.

    Sentry has already turned local variables into strings here, so the SecretDicts are looked
    for in the live traceback (``hint["exc_info"]``) and in what is still raw (extra, contexts).
    """
    secret_type = _secret_dict_type()
    found = _secrets_in_traceback(hint, secret_type)
    _collect_secret_values(event, secret_type, found)
    return _scrub_event(event, found | _configured_secrets)


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    return _scrub_event(event, set(_configured_secrets))


def before_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    return scrub(crumb, _configured_secrets)


def remember_configured_secrets(*values: str | None) -> None:
    for value in values:
        _add_secret(_configured_secrets, value)


def init_sentry(
    dsn: str,
    *,
    release: str,
    environment: str | None = None,
    secrets: tuple[str | None, ...] = (),
) -> None:
    """Start reporting to ``dsn`` from this process, through the outbound proxy when one applies."""
    import sentry_sdk

    from harvesters.proxy import proxy_for, split_proxy

    remember_configured_secrets(*secrets)
    options: dict[str, Any] = {}
    proxy = proxy_for(dsn)
    if proxy:
        parts = split_proxy(proxy)
        remember_configured_secrets(parts.password)
        options["http_proxy"] = options["https_proxy"] = parts.url_without_credentials
        if parts.user is not None:
            import base64

            token = base64.b64encode(f"{parts.user}:{parts.password or ''}".encode()).decode()
            options["proxy_headers"] = {"Proxy-Authorization": f"Basic {token}"}
    else:
        # An empty string tells the SDK not to look at the environment (our no_proxy rules decided).
        options["http_proxy"] = options["https_proxy"] = ""
    sentry_sdk.init(
        dsn=dsn,
        release=release,
        environment=environment,
        send_default_pii=False,
        include_local_variables=True,
        before_send=before_send,
        before_breadcrumb=before_breadcrumb,
        **options,
    )
    scope = sentry_sdk.get_global_scope()
    scope.add_event_processor(secret_values_processor)
    scope.set_tag("process", process_kind())


@contextmanager
def sentry_tags(job_kind: str, cloud_id: int | str | None = None) -> Iterator[None]:
    """Tag errors raised (or captured) inside the block with the job kind and cloud id.

    A no-op without Sentry, so workers call it unconditionally::

        with sentry_tags(job.kind, job.arguments.get("cloud_id")):
            run(job)
    """
    import sentry_sdk

    with sentry_sdk.new_scope() as scope:
        scope.set_tag("job_kind", job_kind)
        if cloud_id is not None:
            scope.set_tag("cloud_id", str(cloud_id))
        try:
            yield
        except Exception:
            # Captured here, inside the scope, so the tags go with it; then raised on as before.
            sentry_sdk.capture_exception()
            raise

"""The two JSON shapes of the legacy contract: `{"status": "success", ...}` and the error."""
from functools import wraps

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import serializers
from rest_framework.settings import api_settings

from echofu import paths
from echofu.messages import in_contract_language, localized, written_from
from engines.messages import Message, gettext_noop

# Methods that never change anything (RFC 9110 "safe"), which the CSRF check lets through.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


NON_FIELD_ERRORS = api_settings.NON_FIELD_ERRORS_KEY

# A body Django refuses to parse (too many fields or files, a field over its memory limit).
MALFORMED_REQUEST = gettext_noop("the request cannot be parsed")


def malformed_request(exc: BaseException | None) -> Message:
    """Why Django would not parse a body: our words, then Django's own, which name the limit passed."""
    detail = str(exc) if exc is not None else ""
    return gettext_noop("the request cannot be parsed: {detail}", detail=detail) if detail else MALFORMED_REQUEST


def message_fields(message: str | dict, key: str = "message") -> dict:
    """`message` in the contract's Chinese; a message with a template (engines.messages.Message, or one
    kept on a row) also in the request's language as `localized_message`, the text the studio pages show.
    Another `key` names an added message the same way (`warning`, `localized_warning`)."""
    if isinstance(message, str) and not isinstance(message, Message):
        return {key: message}
    return {key: in_contract_language(message), f"localized_{key}": localized(message)}


def success(message: str | dict | None = None, status: int = 200, **fields) -> JsonResponse:
    body = {"status": "success"}
    if message is not None:
        body.update(message_fields(message))
    body.update(fields)
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def error(message: str | dict, status: int = 400, **fields) -> JsonResponse:
    body = {"status": "error", **message_fields(message)}
    body.update(fields)
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def server_failure(failure: Message, exc: BaseException | None = None, **fields) -> JsonResponse:
    """The contract's 500 for a failure on our side, e.g. `音频上传失败: ...`. The exception's own text
    can name server paths and internals: the caller logs it, the client reads only that it was ours,
    or that the disk is full, which the user can act on."""
    if exc is not None and paths.filled_the_media_volume(exc):
        return error(gettext_noop("{failure}: the disk is full (No space left on device)", failure=failure), 500, **fields)
    return error(gettext_noop("{failure}: internal server error, see the server's log", failure=failure), 500, **fields)


def invalid(message: str, field: str | None = None) -> serializers.ValidationError:
    """A serializer's refusal that keeps its Message's template for first_error: DRF copies each
    message's text into a new ErrorDetail at every step and keeps only its `code`, so the Message
    travels as the code."""
    return serializers.ValidationError(message if field is None else {field: message},
                                       code=message if isinstance(message, Message) else None)


def first_error(form: serializers.Serializer) -> str:
    """One readable sentence out of a DRF serializer's refusal, a Message wherever its template is known
    (one raised with `invalid`, or one of DRF's own field errors such as "This field is required."),
    so that it is answered in Chinese and in the request's language."""
    return _first_error(form.errors, form)


def _first_error(errors, owner) -> str:
    fields = getattr(owner, "fields", {})
    for field, messages in errors.items():
        detail = messages[0] if isinstance(messages, list) else messages
        if isinstance(detail, dict):
            return _first_error(detail, fields.get(field))
        if field == NON_FIELD_ERRORS:
            return _reason(detail, owner)
        return field_message(field, _reason(detail, fields.get(field)))
    return "invalid request"


def _reason(detail: serializers.ErrorDetail, refused_by) -> str:
    """DRF keeps only a refusal's text, in the language active while validating, and its code: the
    code is the Message for ours, and names the template in `error_messages` for DRF's own."""
    if isinstance(detail.code, Message):
        return detail.code
    template = getattr(refused_by, "error_messages", {}).get(detail.code)
    translatable = None if template is None else written_from(template, str(detail))
    return str(detail) if translatable is None else translatable


def field_message(field: str, reason: str) -> str:
    """`field: reason`, translatable when the reason is a Message."""
    return Message("{field}: {reason}", field=field, reason=reason) if isinstance(reason, Message) else f"{field}: {reason}"


def allow_methods(*methods: str):
    """Like require_http_methods, but answers 405 in the contract's error shape.

    A read-only view is also exempt from Django's CSRF check: it refuses every unsafe method with
    the 405 before its body runs, so there is nothing to protect, and the check would otherwise
    answer that POST or DELETE first, with Django's HTML 403 page."""

    if "GET" in methods and "HEAD" not in methods:  # as the original Flask backend (and HTTP) answer HEAD
        methods = (*methods, "HEAD")

    def decorate(view):
        @wraps(view)
        def checked(request, *args, **kwargs):
            if request.method not in methods:
                response = error(gettext_noop("method {method} not allowed; use {allowed}", method=request.method,
                                              allowed=", ".join(methods)), 405)
                response["Allow"] = ", ".join(methods)
                return response
            return view(request, *args, **kwargs)

        return csrf_exempt(checked) if SAFE_METHODS.issuperset(methods) else checked

    return decorate

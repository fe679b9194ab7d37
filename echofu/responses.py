"""The two JSON shapes of the legacy contract: `{"status": "success", ...}` and the error."""
from functools import wraps

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import serializers

from echofu import paths
from echofu.messages import in_contract_language, localized
from engines.messages import Message

# Methods that never change anything (RFC 9110 "safe"), which the CSRF check lets through.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


# A body Django refuses to parse (too many fields or files, a field over its memory limit).
MALFORMED_REQUEST = "请求无法解析 / malformed request"


def message_fields(message: str | dict) -> dict:
    """`message` in the contract's Chinese; a message with a template (engines.messages.Message, or one
    kept on a row) also in the request's language as `localized_message`, the text the studio pages show."""
    if isinstance(message, str) and not isinstance(message, Message):
        return {"message": message}
    return {"message": in_contract_language(message), "localized_message": localized(message)}


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


def server_failure(failure: str, exc: BaseException | None = None, **fields) -> JsonResponse:
    """The contract's 500 for a failure on our side, e.g. `音频上传失败: ...`. The exception's own text
    can name server paths and internals: the caller logs it, the client reads only that it was ours,
    or that the disk is full, which the user can act on."""
    if exc is not None and paths.filled_the_media_volume(exc):
        return error(f"{failure}: 磁盘已满 (No space left on device)", 500, **fields)
    return error(f"{failure}: 服务器内部错误, 详情见服务器日志", 500, **fields)


def invalid(message: str, field: str | None = None) -> serializers.ValidationError:
    """A serializer's refusal that keeps its Message's template for first_error: DRF copies each
    message's text into a new ErrorDetail at every step and keeps only its `code`, so the Message
    travels as the code."""
    return serializers.ValidationError(message if field is None else {field: message},
                                       code=message if isinstance(message, Message) else None)


def first_error(errors) -> str:
    """One readable sentence out of a DRF serializer's `errors` dict: a Message when it was raised
    with `invalid`, so that it is answered in Chinese and in the request's language."""
    for field, messages in errors.items():
        detail = messages[0] if isinstance(messages, list) else messages
        if isinstance(detail, dict):
            return first_error(detail)
        reason = detail.code if isinstance(getattr(detail, "code", None), Message) else str(detail)
        return reason if field == "non_field_errors" else field_message(field, reason)
    return "invalid request"


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
                response = error(f"method {request.method} not allowed; use {', '.join(methods)}", 405)
                response["Allow"] = ", ".join(methods)
                return response
            return view(request, *args, **kwargs)

        return csrf_exempt(checked) if SAFE_METHODS.issuperset(methods) else checked

    return decorate

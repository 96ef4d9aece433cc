"""The Jinja2 sandbox print-form templates run in, and how their failures are reported.

Templates come from admins, so they are treated as untrusted: Jinja2's immutable sandbox
(no ``__class__``, no ``mro``, no changing the context), a strict undefined whose message
names the full path of a misspelt field (``buyer.kpp_typo``), and cheap limits against a
template that tries to exhaust the machine: ``range`` gives at most 100 000 numbers in all
per render; ``*``, ``**``, ``%``, ``str.center``/``ljust``/…, ``format`` widths and the
``center``/``indent``/``wordwrap``/``truncate``/``format`` filters refuse huge results. They
are guards, not a jail: a determined template can still spend memory (a string doubled in
a loop), so renders of uploaded templates belong in a worker with a memory limit and a
timeout. :func:`template_error` turns any failure into an ``InvalidInput`` ``template.*``.
"""

from __future__ import annotations

import contextvars
import re
import traceback
from collections.abc import Callable
from typing import Any

import jinja2
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from markupsafe import Markup

from backend.errors import InvalidInput

__all__ = [
    "RANGE_BUDGET",
    "TEMPLATE_FIELD",
    "RangeBudget",
    "docx_env",
    "html_env",
    "missing_name",
    "template_error",
    "track",
]

TEMPLATE_FIELD = "template"
RANGE_BUDGET = 100_000  # numbers all the range() calls of one render may produce
MAX_RESULT = 1_000_000  # longest string or list an operator or a call may make

_range_left: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("print_form_range", default=None)


# --- the environment -------------------------------------------------------------------


class _Tracked(dict):
    """A dict of the context that knows its path, so a missing key is named in full."""

    __slots__ = ("viza_path",)

    def __init__(self, values: dict, path: str) -> None:
        super().__init__(values)
        self.viza_path = path


class _TrackedList(list):
    __slots__ = ("viza_path",)

    def __init__(self, values: list, path: str) -> None:
        super().__init__(values)
        self.viza_path = path


def track(value: Any, path: str = "") -> Any:
    """The context with every nested dict and list knowing where it is ("buyer", "lines[0]")."""
    if isinstance(value, dict) and not isinstance(value, Markup):
        return _Tracked({k: track(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}, path)
    if isinstance(value, (list, tuple)):
        return _TrackedList([track(v, f"{path}[{i}]") for i, v in enumerate(value)], path)
    return value


class _Undefined(StrictUndefined):
    """StrictUndefined whose message names the full path: "'buyer.kpp_typo' is undefined"."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        path = getattr(self._undefined_obj, "viza_path", None)
        if self._undefined_hint is None and path:
            name = self._undefined_name
            full = f"{path}[{name}]" if isinstance(name, int) else f"{path}.{name}"
            return f"{full!r} is undefined"
        return super()._undefined_message


def _guarded_range(*args: int) -> range:
    numbers = range(*args)
    left = _range_left.get()
    if left is not None:
        left[0] -= len(numbers)
        if left[0] < 0:
            raise SecurityError(f"range() may give at most {RANGE_BUDGET} numbers in all in one template")
    return numbers


def _too_big(value: Any) -> bool:
    return (isinstance(value, (str, bytes, list, tuple)) and len(value) > MAX_RESULT) or (
        isinstance(value, int) and abs(value) > 10**30
    )


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset(["*", "**", "%"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > 1000:
            raise SecurityError("the power is too large")
        if operator == "*":
            for one, other in ((left, right), (right, left)):
                if isinstance(one, (str, bytes, list, tuple)) and isinstance(other, int) and len(one) * other > MAX_RESULT:
                    raise SecurityError("the result would be too long")
        if operator == "%" and isinstance(left, str) and _WIDE_PERCENT.search(left):
            raise SecurityError("the format width is too large")
        result = super().call_binop(context, operator, left, right)
        if _too_big(result):
            raise SecurityError("the result is too large")
        return result

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 — Jinja's signature
        method = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format
        if isinstance(getattr(method, "__self__", None), str):
            name = getattr(method, "__name__", "")
            if name in _WIDTH_METHODS and any(_is_big(v) for v in (*args, *kwargs.values())):
                raise SecurityError(f"str.{name} with so large a width is refused")
            if name in ("format", "format_map") and _WIDE_SPEC.search(method.__self__):
                raise SecurityError("the format width is too large")
        result = super().call(__context, __obj, *args, **kwargs)
        if _too_big(result):
            raise SecurityError("the result is too large")
        return result


_WIDTH_METHODS = frozenset(["center", "ljust", "rjust", "zfill", "expandtabs"])
_WIDE_SPEC = re.compile(r"\{[^{}]*:[^{}]*?\d{5,}[^{}]*\}")  # "{:>100000}"
_WIDE_PERCENT = re.compile(r"%[-+ #0]*(?:\d{5,}|\*)")  # "%100000d", "%*d"


def _is_big(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10_000


def _environment(*, autoescape: bool) -> _Sandbox:
    env = _Sandbox(undefined=_Undefined, autoescape=autoescape, auto_reload=False, cache_size=0)
    env.globals.pop("lipsum", None)  # makes text of any length
    env.globals["range"] = _guarded_range
    for name in ("center", "indent", "wordwrap", "truncate", "format"):  # widths and counts
        env.filters[name] = _guard_filter(env.filters[name])
    return env


def _guard_filter(function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that refuses widths and counts above 10 000 (``center(10**9)``)."""

    def guarded(*args: Any, **kwargs: Any) -> Any:
        if function.__name__ == "do_format":
            if isinstance(args[0], str) and _WIDE_PERCENT.search(args[0]):
                raise SecurityError("the format width is too large")
        elif any(_is_big(v) for v in (*args[1:], *kwargs.values())):
            raise SecurityError(f"the {function.__name__.removeprefix('do_')} filter with so large a number is refused")
        result = function(*args, **kwargs)
        if _too_big(result):
            raise SecurityError("the result is too large")
        return result

    if hasattr(function, "jinja_pass_arg"):  # keep @pass_environment / @pass_eval_context
        guarded.jinja_pass_arg = function.jinja_pass_arg  # type: ignore[attr-defined]
    guarded.__name__ = function.__name__
    return guarded


html_env = _environment(autoescape=True)
docx_env = _environment(autoescape=True)  # docxtpl templates are XML: values are escaped too


# --- errors ----------------------------------------------------------------------------

_MISSING = (
    re.compile(r"^'(?P<name>[^']+)' is undefined$"),
    re.compile(r"has no attribute '(?P<name>[^']+)'"),
    re.compile(r"has no element (?P<name>.+)$"),
)


def missing_name(message: str) -> str:
    """The undefined variable an UndefinedError's message names."""
    for pattern in _MISSING:
        match = pattern.search(message)
        if match:
            return match.group("name")
    return message


def _template_line(error: BaseException) -> int | None:
    """The template's line the error came from (Jinja puts template frames in the traceback)."""
    line = getattr(error, "lineno", None)
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename == "<template>":
            line = frame.lineno
    return line


def template_error(error: BaseException, *, where: Callable[[int | None], dict[str, Any]] | None = None) -> InvalidInput:
    """The InvalidInput for a failure of a template. ``where`` turns a line into the error's
    location params (a DOCX gives its paragraph and text); by default ``line=N``."""
    line = _template_line(error)
    place = where(line) if where else {"line": line if line is not None else "?"}
    detail = (str(getattr(error, "message", None) or error) or type(error).__name__).rstrip(".")  # the message adds one
    if isinstance(error, SecurityError):
        return InvalidInput("template.unsafe", field=TEMPLATE_FIELD, detail=detail, **place)
    if isinstance(error, jinja2.UndefinedError):
        return InvalidInput("template.missing_field", field=TEMPLATE_FIELD, name=missing_name(detail), **place)
    if isinstance(error, jinja2.TemplateSyntaxError):
        return InvalidInput("template.syntax", field=TEMPLATE_FIELD, detail=detail, **place)
    return InvalidInput("template.render_error", field=TEMPLATE_FIELD, detail=f"{type(error).__name__}: {detail}",
                        **place)


class RangeBudget:
    """Gives one render its own budget of range() numbers."""

    def __enter__(self) -> None:
        self.token = _range_left.set([RANGE_BUDGET])

    def __exit__(self, *exc: object) -> None:
        _range_left.reset(self.token)

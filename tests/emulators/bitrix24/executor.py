"""Running one REST method, and ``batch`` (settings/how-to-call-rest-api/batch.md).

Checks in the order Bitrix24 makes them for a method: does it exist, does the webhook have
its scope, is it blocked by the operating limit; then any fault a test planted; then the
method itself.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import errors
from .errors import ApiError
from .methods import REGISTRY, Context, Page
from .params import get_ci, parse_php_query, truthy
from .records import CallRecord, Outcome
from .state import iso

if TYPE_CHECKING:
    from .emulator import Bitrix24Emulator

logger = logging.getLogger(__name__)

MAX_BATCH = 50
_REFERENCE = re.compile(r"\$(result_error|result_total|result_next|result_time|result)((?:\[[^\]]*\])+)")


def time_block(emu: Bitrix24Emulator, started: float, processing: float, method: str | None) -> dict[str, Any]:
    finished = time.time()
    tz = emu.state.tz
    operating = emu.meter.operating(method) if method else 0.0
    reset_in = emu.meter.reset_in(method) if method else None
    return {
        "start": started,
        "finish": finished,
        "duration": finished - started,
        "processing": processing,
        "date_start": iso(datetime.fromtimestamp(started, tz)),
        "date_finish": iso(datetime.fromtimestamp(finished, tz)),
        "operating_reset_at": int(finished + (reset_in if reset_in is not None else 600.0)),
        "operating": operating,
    }


def execute(
    emu: Bitrix24Emulator,
    name: str,
    params: dict[str, Any],
    events: list[tuple[str, dict[str, Any]]],
) -> Outcome:
    started = time.time()
    method = name.strip().lower().removesuffix(".json")
    spec = REGISTRY.get(method)
    if spec is None:
        return Outcome(error=errors.method_not_found())
    if spec.scope in emu.denied_scopes:
        return Outcome(error=errors.insufficient_scope())
    if emu.meter.blocked(method):
        return Outcome(error=errors.operation_time_limit())
    fault = emu.faults.take(method)
    if fault is not None and not fault.after:
        return Outcome(error=fault.api_error())

    ctx = Context(emu.state, emu.user_id, emu.list_default_includes_uf)
    tick = time.perf_counter()
    try:
        result = spec.function(ctx, params)
    except ApiError as e:
        result = e
    except Exception as e:  # a bug in the emulator: answer like Bitrix24 would, keep it for the test
        logger.exception("Bitrix24 emulator failed on %s", method)
        emu.internal_errors.append(e)
        result = ApiError(500, "INTERNAL_SERVER_ERROR", "Internal server error")
    processing = time.perf_counter() - tick
    emu.commands += 1
    emu.meter.add(method, processing + emu.method_cost.get(method, 0.0))
    if isinstance(result, ApiError):
        return Outcome(error=result)
    events.extend(ctx.events)
    if fault is not None:  # fault.after: the change is made, the answer is lost
        return Outcome(error=fault.api_error())
    outcome = Outcome(time=time_block(emu, started, processing, method))
    if isinstance(result, Page):
        outcome.result, outcome.total, outcome.next = result.result(), result.total, result.next
    else:
        outcome.result = result
    return outcome


def _lookup(source: Any, keys: list[str]) -> Any:
    current = source
    for key in keys:
        if isinstance(current, dict):
            current = current.get(key, current.get(int(key)) if key.isdigit() else None)
        elif isinstance(current, list) and key.isdigit() and int(key) < len(current):
            current = current[int(key)]
        else:
            return None
    return current


def _substitute(value: Any, sources: dict[str, dict[str, Any]]) -> Any:
    """Replace ``$result[cmd][FIELD]…`` references with what earlier commands returned."""
    if isinstance(value, dict):
        return {k: _substitute(v, sources) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, sources) for v in value]
    if not isinstance(value, str) or "$result" not in value:
        return value

    def resolve(match: re.Match[str]) -> Any:
        keys = re.findall(r"\[([^\]]*)\]", match.group(2))
        return _lookup(sources[match.group(1)], keys)

    whole = _REFERENCE.fullmatch(value)
    if whole:  # keep the type: a list for filter[@ID], a number for an id
        return resolve(whole)
    return _REFERENCE.sub(lambda m: "" if (v := resolve(m)) is None else str(v), value)


def _php_top(mapping: dict[str, Any]) -> Any:
    """PHP's json_encode of the command-keyed arrays: [] when empty, a list for keys 0..n-1."""
    if not mapping:
        return []
    if list(mapping) == [str(i) for i in range(len(mapping))]:
        return list(mapping.values())
    return mapping


def run_batch(emu: Bitrix24Emulator, params: dict[str, Any], events: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    cmd = get_ci(params, "cmd")
    halt = truthy(get_ci(params, "halt", False))
    if isinstance(cmd, list):
        commands = [(str(i), c) for i, c in enumerate(cmd)]
    elif isinstance(cmd, dict):
        commands = [(str(k), c) for k, c in cmd.items()]
    else:
        commands = []
    result: dict[str, Any] = {}
    failed: dict[str, Any] = {}
    totals: dict[str, Any] = {}
    nexts: dict[str, Any] = {}
    times: dict[str, Any] = {}
    sources = {"result": result, "result_error": failed, "result_total": totals, "result_next": nexts, "result_time": times}
    for index, (name, command) in enumerate(commands):
        method, _, query = str(command).strip().lstrip("/").partition("?")
        method = method.strip().lower().removesuffix(".json")
        sub_params = _substitute(parse_php_query(query), sources)
        if index >= MAX_BATCH:
            outcome = Outcome(error=errors.batch_length_exceeded())
        elif method == "batch":
            outcome = Outcome(error=errors.batch_method_not_allowed())
        else:
            outcome = execute(emu, method, sub_params, events)
        status = 200 if outcome.ok else outcome.error.status
        emu.calls.append(CallRecord(method, sub_params, status, batch=True, error=None if outcome.ok else outcome.error.code))
        if outcome.ok:
            result[name] = outcome.result
            if outcome.total is not None:
                totals[name] = outcome.total
            if outcome.next is not None:
                nexts[name] = outcome.next
            times[name] = outcome.time
        else:
            failed[name] = outcome.error.to_json()
            if halt:
                break
    return {
        "result": _php_top(result),
        "result_error": _php_top(failed),
        "result_total": _php_top(totals),
        "result_next": _php_top(nexts),
        "result_time": _php_top(times),
    }

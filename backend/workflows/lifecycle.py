"""The life cycle of a registry item as one table of transitions (no ORM, no I/O).

Two kinds of item share it: payment requests and contract approvals. A contract goes the same
way up to "approved" (its number is given then) and is never paid or closed by accounting.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    DRAFT = "draft"
    PENDING = "pending"
    APPROVED = "approved"
    PAID = "paid"
    CLOSED = "closed"
    RETURNED = "returned"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    RETURN = "return"
    COMMENT = "comment"
    ADD_APPROVER = "add_approver"
    MARK_PAID = "mark_paid"
    CLOSE = "close"
    CANCEL = "cancel"
    ATTACH = "attach"
    DELEGATE = "delegate"  # pending tasks handed to a deputy, or back; follows a delegation


class Kind(StrEnum):
    PAYMENT = "payment"
    CONTRACT = "contract"


class Party(StrEnum):
    """How an actor relates to a request; decides which transitions they may take."""

    INITIATOR = "initiator"
    APPROVER = "approver"  # holds (or stands in for) a pending task of the active stage
    ACCOUNTANT = "accountant"
    ADMIN = "admin"
    VIEWER = "viewer"  # may see the request


FINAL = frozenset({Status.CLOSED, Status.REJECTED, Status.CANCELLED})
EDITABLE = frozenset({Status.DRAFT, Status.RETURNED})
ALL = frozenset(Status)


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[Status | None]
    targets: frozenset[Status]  # more than one when the outcome depends on the route
    parties: frozenset[Party]
    needs_comment: bool = False
    kinds: frozenset[Kind] = frozenset(Kind)


def _t(action, sources, targets, parties, needs_comment=False, kinds=frozenset(Kind)) -> Transition:
    return Transition(action, frozenset(sources), frozenset(targets), frozenset(parties), needs_comment,
                      frozenset(kinds))


S, P = Status, Party
TRANSITIONS: tuple[Transition, ...] = (
    _t(Action.CREATE, {None}, {S.DRAFT}, {P.INITIATOR}),
    _t(Action.UPDATE, EDITABLE, EDITABLE, {P.INITIATOR}),
    # An admin's correction of a request on its way; a changed amount or requisites restarts the route.
    _t(Action.UPDATE, {S.PENDING, S.APPROVED}, {S.PENDING, S.APPROVED}, {P.ADMIN}),
    _t(Action.SUBMIT, EDITABLE, {S.PENDING, S.APPROVED}, {P.INITIATOR}),
    _t(Action.APPROVE, {S.PENDING}, {S.PENDING, S.APPROVED}, {P.APPROVER}),
    _t(Action.REJECT, {S.PENDING}, {S.REJECTED}, {P.APPROVER}, needs_comment=True),
    _t(Action.RETURN, {S.PENDING}, {S.RETURNED}, {P.APPROVER}, needs_comment=True),
    _t(Action.ADD_APPROVER, {S.PENDING}, {S.PENDING}, {P.APPROVER, P.ADMIN}),
    _t(Action.COMMENT, ALL - {S.DRAFT}, ALL - {S.DRAFT}, {P.VIEWER}, needs_comment=True),
    _t(Action.MARK_PAID, {S.APPROVED}, {S.PAID}, {P.ACCOUNTANT}, kinds={Kind.PAYMENT}),
    _t(Action.CLOSE, {S.PAID}, {S.CLOSED}, {P.ACCOUNTANT}, kinds={Kind.PAYMENT}),
    _t(Action.ATTACH, EDITABLE, EDITABLE, {P.INITIATOR, P.ADMIN}),
    _t(Action.ATTACH, {S.PENDING}, {S.PENDING}, {P.ADMIN}),
    # Payment orders and closing documents come from accounting once the request is approved.
    _t(Action.ATTACH, {S.APPROVED, S.PAID, S.CLOSED}, {S.APPROVED, S.PAID, S.CLOSED}, {P.ACCOUNTANT, P.ADMIN}),
    _t(Action.CANCEL, {S.DRAFT, S.PENDING, S.RETURNED, S.APPROVED}, {S.CANCELLED}, {P.INITIATOR, P.ADMIN}),
    # The approver themselves (when they delegate or come back), an admin, or the system's daily job.
    _t(Action.DELEGATE, {S.PENDING}, {S.PENDING}, {P.APPROVER, P.ADMIN}),
)
# Done to a request as a consequence of something else, never offered on it.
INDIRECT = frozenset({Action.CREATE, Action.DELEGATE})


def find_transition(action: Action, status: Status | None, kind: Kind = Kind.PAYMENT) -> Transition | None:
    """The transition for ``action`` out of ``status`` for an item of ``kind``, or None when there is none."""
    for transition in TRANSITIONS:
        if transition.action == action and status in transition.sources and kind in transition.kinds:
            return transition
    return None


def actions_available(status: Status, parties: frozenset[Party] | set[Party],
                      kind: Kind = Kind.PAYMENT) -> list[Action]:
    """What someone related to an item by ``parties`` may do with it now."""
    return [
        t.action for t in TRANSITIONS
        if status in t.sources and t.parties & set(parties) and t.action not in INDIRECT and kind in t.kinds
    ]

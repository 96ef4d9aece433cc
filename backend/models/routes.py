"""Request types and their approval routes, kept as data that admins edit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, BigId


class RequestType(Base):
    __tablename__ = "request_types"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name_ru: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # payment: routes payment requests; contract: routes contract approvals.
    kind: Mapped[str] = mapped_column(String(10), default="payment")
    # Contracts only: the number is given on approval, or reserved at submit and confirmed on approval.
    numbering: Mapped[str] = mapped_column(String(10), default="approval")  # approval | reserve

    stages: Mapped[list[RouteStage]] = relationship(
        back_populates="request_type", cascade="all, delete-orphan",
        order_by="RouteStage.position", lazy="selectin",
    )

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_ru


class RouteStage(Base):
    """One stage of a route: who approves (a rule), how many must, and when it applies."""

    __tablename__ = "route_stages"
    __table_args__ = (UniqueConstraint("request_type_id", "position"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_type_id: Mapped[int] = mapped_column(ForeignKey("request_types.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    # {"kind": "department_head"} | {"kind": "head_of", "department": "code"} | {"kind": "role", "role": "cfo"}
    # | {"kind": "manager_chain", "levels": 2} | {"kind": "people", "employee_ids": [..]}
    approvers: Mapped[dict[str, Any]] = mapped_column(JSON)
    mode: Mapped[str] = mapped_column(String(10), default="any")  # any | all | n_of_m
    required_count: Mapped[int] = mapped_column(Integer, default=1)
    # {"amount_gte": kopecks, "amount_lt": kopecks, "currencies": [...], "legal_entity_ids": [...],
    #  "department_ids": [...], "over_budget": true}; empty means always.
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sla_hours: Mapped[int] = mapped_column(Integer, default=24)

    request_type: Mapped[RequestType] = relationship(back_populates="stages")

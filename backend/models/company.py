"""The company: legal entities, departments, employees, expense items, budgets."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, BigId, UTCDateTime, utcnow

ROLES = ("manager", "approver", "accountant", "admin", "cfo", "director", "lawyer")
TAX_REGIMES = ("osn", "usn_income", "usn_income_expense", "patent")


class LegalEntity(Base):
    __tablename__ = "legal_entities"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    short_code: Mapped[str] = mapped_column(String(10), unique=True)
    inn: Mapped[str] = mapped_column(String(12), unique=True)
    kpp: Mapped[str] = mapped_column(String(9), default="")
    tax_regime: Mapped[str] = mapped_column(String(30), default="osn")
    # Overrides the yearly USN limit from settings when a company must stop earlier.
    usn_income_limit: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Income of a year received outside Viza (before it, or from 1C), {"2026": kopecks}: the USN
    # check adds the invoices issued here to it.
    usn_income_outside: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    # What the print forms say about us.
    ogrn: Mapped[str] = mapped_column(String(15), default="")
    address: Mapped[str] = mapped_column(String(500), default="")
    director: Mapped[str] = mapped_column(String(300), default="")  # "Генеральный директор Иванов И. И."
    chief_accountant: Mapped[str] = mapped_column(String(200), default="")
    # Number formats: {n} the number in the year (zero-padded as {n:04d}), {year}, {yy}, {code}.
    contract_number_format: Mapped[str] = mapped_column(String(60), default="{code}-Д-{yy}/{n:04d}")
    invoice_number_format: Mapped[str] = mapped_column(String(60), default="{code}-{yy}-{n:05d}")
    # Catalogue folders (1C group codes) whose goods this entity sells; [] = any.
    catalogue_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    bank_accounts: Mapped[list[BankAccount]] = relationship(
        back_populates="legal_entity", cascade="all, delete-orphan", lazy="selectin",
        order_by="BankAccount.id",
    )


class BankAccount(Base):
    __tablename__ = "legal_entity_bank_accounts"
    __table_args__ = (UniqueConstraint("legal_entity_id", "account"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    legal_entity_id: Mapped[int] = mapped_column(ForeignKey("legal_entities.id", ondelete="CASCADE"))
    bank_name: Mapped[str] = mapped_column(String(300), default="")
    bik: Mapped[str] = mapped_column(String(9))
    account: Mapped[str] = mapped_column(String(20))
    corr_account: Mapped[str] = mapped_column(String(20), default="")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)

    legal_entity: Mapped[LegalEntity] = relationship(back_populates="bank_accounts")


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str | None] = mapped_column(String(50), unique=True, nullable=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), nullable=True)
    head_id: Mapped[int | None] = mapped_column(
        ForeignKey("employees.id", use_alter=True, name="fk_departments_head_id_employees"), nullable=True
    )
    deputy_id: Mapped[int | None] = mapped_column(
        ForeignKey("employees.id", use_alter=True, name="fk_departments_deputy_id_employees"), nullable=True
    )
    # Materialised path "/1/4/9/" so a subtree is one indexed LIKE 'prefix%'.
    path: Mapped[str] = mapped_column(String(500), default="/", index=True)


class Employee(Base):
    __tablename__ = "employees"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), nullable=True, index=True)
    position: Mapped[str] = mapped_column(String(200), default="")
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Explicit manager; when empty the head of the department is the manager.
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), nullable=True)
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")
    language: Mapped[str] = mapped_column(String(5), default="ru")
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True, nullable=True)
    telegram_username: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The same person's user id on the Bitrix24 portal: responsible for tasks, matched to a deal's manager.
    bitrix24_user_id: Mapped[str | None] = mapped_column(String(20), nullable=True, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when Telegram answered "bot was blocked by the user"; cleared when they write again.
    telegram_blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # "22:00-08:00" in the employee's own time zone: non-urgent notices wait until it ends.
    quiet_hours: Mapped[str] = mapped_column(String(11), default="")
    digest_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # The registry filters the web page opens with (seed 004: "по умолчанию … только согласованные").
    registry_view: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def has_role(self, *roles: str) -> bool:
        return any(r in (self.roles or []) for r in roles)


class ExpenseItem(Base):
    __tablename__ = "expense_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Budget(Base):
    """A monthly limit of spending for a department (and optionally one expense item)."""

    __tablename__ = "budgets"
    __table_args__ = (
        UniqueConstraint("department_id", "expense_item_key", "month", "currency"),
        Index("ix_budgets_lookup", "department_id", "month"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    expense_item_id: Mapped[int | None] = mapped_column(ForeignKey("expense_items.id"), nullable=True)
    # 0 when the budget covers every expense item; lets the unique key work on both databases.
    expense_item_key: Mapped[int] = mapped_column(BigInteger, default=0)
    month: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(BigInteger)  # kopecks
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    on_exceed: Mapped[str] = mapped_column(String(10), default="route")  # block | route

"""The OData composition of the emulated base: entity sets, their properties, and ``$metadata``.

Property names follow 1C:Бухгалтерия предприятия 3.0 as seen in real OData answers (see the
report / module docstrings in ``documents``). 1C exposes:

* a reference attribute ``X`` as ``X_Key`` (``Edm.Guid``) plus a navigation property ``X``;
* a composite-type attribute ``X`` as two strings: ``X`` (the guid, or "" when empty) and
  ``X_Type`` (``StandardODATA.Catalog_…`` / ``StandardODATA.Undefined``);
* enums as strings (``"ЮридическоеЛицо"``), numbers as ``Edm.Double`` / ``Edm.Int64`` (the
  latter, like ``LineNumber``, is written as a JSON *string* — OData v3 JSON rule),
  dates as ``Edm.DateTime`` without a zone (``2025-01-15T00:00:00``; empty: ``0001-01-01T00:00:00``);
* table parts as ``Collection(StandardODATA.<Set>_<Part>_RowType)`` arrays of rows with
  ``Ref_Key`` + ``LineNumber``, and as read-only entity sets ``<Set>_<Part>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
EMPTY_DATE = "0001-01-01T00:00:00"
UNDEFINED_TYPE = "StandardODATA.Undefined"

GUID, STRING, DOUBLE, BOOL, DATE, INT64, INT16 = (
    "Edm.Guid",
    "Edm.String",
    "Edm.Double",
    "Edm.Boolean",
    "Edm.DateTime",
    "Edm.Int64",
    "Edm.Int16",
)


@dataclass(frozen=True)
class Prop:
    name: str
    edm: str
    ref: str | None = None  # target entity set of an ``X_Key`` reference
    composite: bool = False  # the value half of a composite ``X`` / ``X_Type`` pair
    nullable: bool = True

    @property
    def nav_name(self) -> str | None:
        return self.name[: -len("_Key")] if self.ref and self.name.endswith("_Key") else None

    def default(self):
        if self.composite:
            return ""
        return {
            GUID: EMPTY_GUID,
            STRING: "",
            DOUBLE: 0,
            BOOL: False,
            DATE: EMPTY_DATE,
            INT64: "0",
            INT16: 0,
        }[self.edm]


@dataclass
class TablePart:
    owner: str
    name: str
    props: dict[str, Prop]

    @property
    def set_name(self) -> str:
        return f"{self.owner}_{self.name}"


@dataclass
class EntitySetDef:
    name: str
    props: dict[str, Prop]
    table_parts: dict[str, TablePart] = field(default_factory=dict)
    key: tuple[str, ...] = ("Ref_Key",)
    title: str = ""  # how 1C presents an object of this kind in messages
    code_format: str | None = None  # catalogs: "00-{:06d}"; None — no auto code
    predefined: bool = False  # catalogs carry Predefined / PredefinedDataName

    @property
    def kind(self) -> str:
        return self.name.split("_", 1)[0]

    @property
    def is_document(self) -> bool:
        return self.kind == "Document"

    @property
    def is_register(self) -> bool:
        return self.kind in ("InformationRegister", "AccumulationRegister", "AccountingRegister")

    @property
    def hierarchical(self) -> bool:
        return "IsFolder" in self.props

    def composite_names(self) -> set[str]:
        return {p.name for p in self.props.values() if p.composite}


def _props(*items: Prop) -> dict[str, Prop]:
    return {p.name: p for p in items}


def _composite(name: str) -> tuple[Prop, Prop]:
    return Prop(name, STRING, composite=True), Prop(f"{name}_Type", STRING)


def _catalog_head(name: str, *, hierarchical: bool, owner: bool = False) -> list[Prop]:
    head = [Prop("Ref_Key", GUID, nullable=False), Prop("DataVersion", STRING), Prop("DeletionMark", BOOL)]
    if owner:
        head += list(_composite("Owner"))
    if hierarchical:
        head += [Prop("Parent_Key", GUID, ref=name), Prop("IsFolder", BOOL)]
    head += [Prop("Code", STRING), Prop("Description", STRING)]
    return head


def _catalog_tail() -> list[Prop]:
    return [Prop("Predefined", BOOL), Prop("PredefinedDataName", STRING)]


def _document_head() -> list[Prop]:
    return [
        Prop("Ref_Key", GUID, nullable=False),
        Prop("DataVersion", STRING),
        Prop("DeletionMark", BOOL),
        Prop("Number", STRING),
        Prop("Date", DATE),
        Prop("Posted", BOOL),
    ]


def _payment_breakdown(owner: str) -> TablePart:
    """``РасшифровкаПлатежа`` — one row per contract the payment settles."""
    return TablePart(
        owner,
        "РасшифровкаПлатежа",
        _props(
            Prop("Ref_Key", GUID, nullable=False),
            Prop("LineNumber", INT64, nullable=False),
            Prop("ДоговорКонтрагента_Key", GUID),
            Prop("СпособПогашенияЗадолженности", STRING),
            Prop("СуммаПлатежа", DOUBLE),
            Prop("КурсВзаиморасчетов", DOUBLE),
            Prop("СуммаВзаиморасчетов", DOUBLE),
            Prop("СтавкаНДС", STRING),
            Prop("СуммаНДС", DOUBLE),
            Prop("СтатьяДвиженияДенежныхСредств_Key", GUID),
            Prop("СчетУчетаРасчетовСКонтрагентом_Key", GUID),
            Prop("СчетУчетаРасчетовПоАвансам_Key", GUID),
        ),
    )


ORGS = "Catalog_Организации"
COUNTERPARTIES = "Catalog_Контрагенты"
BANKS = "Catalog_Банки"
BANK_ACCOUNTS = "Catalog_БанковскиеСчета"
ITEMS = "Catalog_Номенклатура"
UNITS = "Catalog_КлассификаторЕдиницИзмерения"
PAYMENT_ORDER = "Document_ПлатежноеПоручение"
WRITE_OFF = "Document_СписаниеСРасчетногоСчета"
BANK_DOC_STATES = "InformationRegister_СостоянияБанковскихДокументов"


def build_schema(*, paid_flag: bool = False) -> dict[str, EntitySetDef]:
    """Entity sets of the composition. ``paid_flag`` adds the (older releases') ``Оплачено``
    attribute to the payment order; current BP 3.0 keeps the state in a register instead."""
    sets: list[EntitySetDef] = []

    sets.append(
        EntitySetDef(
            ORGS,
            _props(
                *_catalog_head(ORGS, hierarchical=False),
                Prop("НаименованиеПолное", STRING),
                Prop("НаименованиеСокращенное", STRING),
                Prop("ЮридическоеФизическоеЛицо", STRING),
                Prop("ИНН", STRING),
                Prop("КПП", STRING),
                Prop("ОГРН", STRING),
                Prop("Префикс", STRING),
                Prop("ГоловнаяОрганизация_Key", GUID, ref=ORGS),
                Prop("ОсновнойБанковскийСчет_Key", GUID, ref=BANK_ACCOUNTS),
                *_catalog_tail(),
            ),
            title="Организация",
            code_format="00-{:06d}",
            predefined=True,
        )
    )
    contact = TablePart(
        COUNTERPARTIES,
        "КонтактнаяИнформация",
        _props(
            Prop("Ref_Key", GUID, nullable=False),
            Prop("LineNumber", INT64, nullable=False),
            Prop("Тип", STRING),
            Prop("Вид_Key", GUID),
            Prop("Представление", STRING),
            Prop("АдресЭП", STRING),
            Prop("НомерТелефона", STRING),
        ),
    )
    sets.append(
        EntitySetDef(
            COUNTERPARTIES,
            _props(
                *_catalog_head(COUNTERPARTIES, hierarchical=True),
                Prop("НаименованиеПолное", STRING),
                Prop("ОбособленноеПодразделение", BOOL),
                Prop("ЮридическоеФизическоеЛицо", STRING),
                Prop("ГоловнойКонтрагент_Key", GUID, ref=COUNTERPARTIES),
                Prop("ИНН", STRING),
                Prop("КПП", STRING),
                Prop("КодПоОКПО", STRING),
                Prop("РегистрационныйНомер", STRING),
                Prop("ОсновнойБанковскийСчет_Key", GUID, ref=BANK_ACCOUNTS),
                Prop("Комментарий", STRING),
                Prop("ДополнительнаяИнформация", STRING),
                Prop("ДатаСоздания", DATE),
                *_catalog_tail(),
            ),
            {"КонтактнаяИнформация": contact},
            title="Контрагент",
            code_format="00-{:06d}",
            predefined=True,
        )
    )
    sets.append(
        EntitySetDef(
            BANKS,
            _props(
                *_catalog_head(BANKS, hierarchical=True),
                Prop("КоррСчет", STRING),
                Prop("Город", STRING),
                Prop("Адрес", STRING),
                Prop("Телефоны", STRING),
                Prop("РучноеИзменение", INT16),
                Prop("СВИФТБИК", STRING),
                *_catalog_tail(),
            ),
            title="Банк",
            code_format=None,  # Code is the BIK, given by the caller
            predefined=True,
        )
    )
    sets.append(
        EntitySetDef(
            BANK_ACCOUNTS,
            _props(
                *_catalog_head(BANK_ACCOUNTS, hierarchical=False, owner=True),
                Prop("НомерСчета", STRING),
                Prop("Банк_Key", GUID, ref=BANKS),
                Prop("БанкДляРасчетов_Key", GUID, ref=BANKS),
                Prop("Валютный", BOOL),
                Prop("ВалютаДенежныхСредств_Key", GUID),
                Prop("ВидСчета", STRING),
                Prop("ДатаОткрытия", DATE),
                Prop("ДатаЗакрытия", DATE),
                Prop("ТекстКорреспондента", STRING),
                Prop("ТекстНазначения", STRING),
                *_catalog_tail(),
            ),
            title="Банковский счет",
            code_format="00-{:06d}",
            predefined=True,
        )
    )
    sets.append(
        EntitySetDef(
            ITEMS,
            _props(
                *_catalog_head(ITEMS, hierarchical=True),
                Prop("НаименованиеПолное", STRING),
                Prop("Артикул", STRING),
                Prop("ЕдиницаИзмерения_Key", GUID),
                Prop("Услуга", BOOL),
                Prop("Комментарий", STRING),
                Prop("СтавкаНДС", STRING),  # enum: НДС22, НДС20, НДС10, НДС0, БезНДС, …
                *_catalog_tail(),
            ),
            title="Номенклатура",
            code_format="00-{:08d}",
            predefined=True,
        )
    )
    sets.append(
        EntitySetDef(
            UNITS,
            _props(
                *_catalog_head(UNITS, hierarchical=False),  # Code is the OKEI code (796), Description "шт"
                Prop("НаименованиеПолное", STRING),
                Prop("МеждународноеСокращение", STRING),
                *_catalog_tail(),
            ),
            title="Единица измерения",
            code_format=None,
            predefined=True,
        )
    )

    order_props = [
        *_document_head(),
        Prop("ВидОперации", STRING),
        Prop("Организация_Key", GUID, ref=ORGS),
        Prop("СчетОрганизации_Key", GUID, ref=BANK_ACCOUNTS),
        *_composite("Контрагент"),
        Prop("СчетКонтрагента_Key", GUID, ref=BANK_ACCOUNTS),
        Prop("ДоговорКонтрагента_Key", GUID),
        Prop("СуммаДокумента", DOUBLE),
        Prop("ВалютаДокумента_Key", GUID),
        Prop("СтавкаНДС", STRING),
        Prop("СуммаНДС", DOUBLE),
        Prop("НазначениеПлатежа", STRING),
        Prop("ВидПлатежа", STRING),
        Prop("ОчередностьПлатежа", INT16),
        Prop("ТекстПлательщика", STRING),
        Prop("ТекстПолучателя", STRING),
        Prop("ИННПлательщика", STRING),
        Prop("КПППлательщика", STRING),
        Prop("ИННПолучателя", STRING),
        Prop("КПППолучателя", STRING),
        Prop("ПеречислениеВБюджет", BOOL),
        Prop("Ответственный_Key", GUID),
        Prop("Комментарий", STRING),
        *_composite("ДокументОснование"),
    ]
    if paid_flag:
        order_props.append(Prop("Оплачено", BOOL))
    sets.append(
        EntitySetDef(
            PAYMENT_ORDER,
            _props(*order_props),
            {"РасшифровкаПлатежа": _payment_breakdown(PAYMENT_ORDER)},
            title="Платежное поручение",
        )
    )
    sets.append(
        EntitySetDef(
            WRITE_OFF,
            _props(
                *_document_head(),
                Prop("ВидОперации", STRING),
                Prop("Организация_Key", GUID, ref=ORGS),
                Prop("СчетОрганизации_Key", GUID, ref=BANK_ACCOUNTS),
                *_composite("Контрагент"),
                Prop("СчетКонтрагента_Key", GUID, ref=BANK_ACCOUNTS),
                Prop("ДоговорКонтрагента_Key", GUID),
                Prop("СуммаДокумента", DOUBLE),
                Prop("ВалютаДокумента_Key", GUID),
                Prop("НазначениеПлатежа", STRING),
                Prop("НомерВходящегоДокумента", STRING),
                Prop("ДатаВходящегоДокумента", DATE),
                Prop("ПроведеноБанком", BOOL),
                Prop("ДатаПроведенияБанком", DATE),
                Prop("СтатьяДвиженияДенежныхСредств_Key", GUID),
                Prop("Ответственный_Key", GUID),
                Prop("Комментарий", STRING),
                *_composite("ДокументОснование"),
            ),
            {"РасшифровкаПлатежа": _payment_breakdown(WRITE_OFF)},
            title="Списание с расчетного счета",
        )
    )
    sets.append(
        EntitySetDef(
            BANK_DOC_STATES,
            _props(
                Prop("Организация_Key", GUID, ref=ORGS, nullable=False),
                *_composite("СсылкаНаОбъект"),
                Prop("Состояние", STRING),
                Prop("Согласовано", BOOL),
                Prop("Ответственный_Key", GUID),
                Prop("Комментарий", STRING),
            ),
            key=("Организация_Key", "СсылкаНаОбъект", "СсылкаНаОбъект_Type"),
            title="Состояния банковских документов",
        )
    )
    return {s.name: s for s in sets}


# -- $metadata ---------------------------------------------------------------------------------


def _type_of(prop: Prop) -> str:
    return STRING if prop.composite else prop.edm


def _entity_type_xml(name: str, key: tuple[str, ...], props: dict[str, Prop], parts: dict[str, TablePart]) -> list[str]:
    lines = [f'<EntityType Name="{escape(name)}">', "<Key>"]
    lines += [f'<PropertyRef Name="{escape(k)}"/>' for k in key]
    lines.append("</Key>")
    for prop in props.values():
        nullable = "true" if prop.nullable else "false"
        lines.append(f'<Property Name="{escape(prop.name)}" Type="{_type_of(prop)}" Nullable="{nullable}"/>')
    for part in parts.values():
        lines.append(
            f'<Property Name="{escape(part.name)}" Type="Collection(StandardODATA.{escape(part.set_name)}_RowType)" '
            'Nullable="true"/>'
        )
    for prop in props.values():
        if prop.nav_name:
            lines.append(
                f'<NavigationProperty Name="{escape(prop.nav_name)}" '
                f'Relationship="StandardODATA.{escape(name)}_{escape(prop.nav_name)}" FromRole="Begin" ToRole="End"/>'
            )
    lines.append("</EntityType>")
    return lines


def metadata_xml(schema: dict[str, EntitySetDef]) -> str:
    body: list[str] = []
    associations: list[str] = []
    sets: list[str] = []
    for definition in schema.values():
        body += _entity_type_xml(definition.name, definition.key, definition.props, definition.table_parts)
        sets.append(definition.name)
        for prop in definition.props.values():
            if prop.nav_name and prop.ref in schema:
                associations += [
                    f'<Association Name="{escape(definition.name)}_{escape(prop.nav_name)}">',
                    f'<End Role="Begin" Type="StandardODATA.{escape(definition.name)}" Multiplicity="*"/>',
                    f'<End Role="End" Type="StandardODATA.{escape(prop.ref)}" Multiplicity="0..1"/>',
                    "</Association>",
                ]
        for part in definition.table_parts.values():
            body.append(f'<ComplexType Name="{escape(part.set_name)}_RowType">')
            body += [
                f'<Property Name="{escape(p.name)}" Type="{_type_of(p)}" Nullable="{"true" if p.nullable else "false"}"/>'
                for p in part.props.values()
            ]
            body.append("</ComplexType>")
            body += _entity_type_xml(part.set_name, ("Ref_Key", "LineNumber"), part.props, {})
            sets.append(part.set_name)
    container = ['<EntityContainer Name="EnterpriseV8" m:IsDefaultEntityContainer="true">']
    container += [f'<EntitySet Name="{escape(s)}" EntityType="StandardODATA.{escape(s)}"/>' for s in sets]
    container.append("</EntityContainer>")
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<edmx:Edmx xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" Version="1.0">',
            (
                '<edmx:DataServices xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" '
                'm:DataServiceVersion="3.0" m:MaxDataServiceVersion="3.0">'
            ),
            '<Schema xmlns="http://schemas.microsoft.com/ado/2009/11/edm" Namespace="StandardODATA">',
            *body,
            *associations,
            *container,
            "</Schema>",
            "</edmx:DataServices>",
            "</edmx:Edmx>",
        ]
    )

"""A 1C:Enterprise standard OData interface emulator (1C:Бухгалтерия предприятия 3.0).

It speaks the real wire format over HTTP on 127.0.0.1, so an httpx client written against the
1C documentation runs unmodified:

    async with OneCEmulator(username="odata", password="s3cret", base="accounting") as emu:
        emu.odata_url   # http://127.0.0.1:PORT/accounting/odata/standard.odata/

Modules: ``server`` (HTTP, auth, routing), ``query`` ($filter/$orderby/$select/keys),
``metadata`` (entity sets, $metadata), ``state`` (stored objects), ``documents`` (posting,
record_payment), ``formats`` (JSON/Atom bodies), ``errors`` (odata.error).
"""

from .emulator import INTERNAL_ERROR, RUB_KEY, Fault, OneCEmulator
from .errors import ODataError
from .metadata import EMPTY_DATE, EMPTY_GUID, UNDEFINED_TYPE
from .state import Call

__all__ = [
    "EMPTY_DATE",
    "EMPTY_GUID",
    "INTERNAL_ERROR",
    "RUB_KEY",
    "UNDEFINED_TYPE",
    "Call",
    "Fault",
    "ODataError",
    "OneCEmulator",
]

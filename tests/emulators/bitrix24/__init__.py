"""A Bitrix24 REST emulator for tests: real HTTP on 127.0.0.1, the documented wire format."""

from .emulator import Bitrix24Emulator
from .records import CallRecord, EventDelivery

__all__ = ["Bitrix24Emulator", "CallRecord", "EventDelivery"]

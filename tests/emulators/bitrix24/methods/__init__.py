"""Importing the modules registers their methods in ``REGISTRY``."""

from . import crm, events, items, stagehistory, statuses, tasks, timeline, users  # noqa: F401
from .base import REGISTRY, Context, MethodSpec, Page

__all__ = ["REGISTRY", "Context", "MethodSpec", "Page"]

"""Broadcasts: the deprecation calendar, notices and key inventories, posted exactly once."""

from bot.broadcasts.deprecations import DeprecationPass
from bot.broadcasts.inventory import InventoryPass

__all__ = ["DeprecationPass", "InventoryPass"]

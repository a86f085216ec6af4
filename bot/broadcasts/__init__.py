"""Broadcasts: the deprecation calendar, notices and key inventories, posted exactly once."""

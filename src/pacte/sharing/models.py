"""Sharing keeps no table of its own: every disclosure is a ``disclosure`` entry of the ledger."""

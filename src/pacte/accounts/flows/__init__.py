"""Accounts' multi-step journeys, shared by the HTML views, the back office and the API."""

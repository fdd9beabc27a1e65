"""Models used only by tests (vault fields on a realistic 'person' row, etc.)."""

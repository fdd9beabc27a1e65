"""Subjects settings, read lazily. The subjects app has no setting of its own yet."""

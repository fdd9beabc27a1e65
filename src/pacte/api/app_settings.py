"""API settings, read lazily. The API has no setting of its own yet: keys are made with `pacte apikey`."""

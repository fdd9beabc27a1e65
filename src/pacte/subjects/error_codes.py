"""The subjects app's PacteError codes. It raises none yet: add each new code here as a constant."""

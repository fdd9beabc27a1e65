"""Multi-step journeys of the rights app (export, erasure), shared by the portal, the commands and the worker."""

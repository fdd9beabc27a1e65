"""The periodic schedule: apps register the tasks that must run every so often.

Apps call ``register(task, every=timedelta(...))`` from ``AppConfig.ready()``; `pacte scheduler` (started
by `pacte serve`) enqueues each one when it is due. The tasks themselves run on the worker and must be
idempotent, because two schedulers on two machines may both enqueue them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any


@dataclass(frozen=True)
class Periodic:
    task: Any
    every: timedelta

    @property
    def name(self) -> str:
        return getattr(self.task, "module_path", None) or repr(self.task)


_REGISTRY: dict[str, Periodic] = {}


def register(task: Any, *, every: timedelta) -> None:
    """Run ``task`` (a django-tasks task taking no argument) every ``every``."""
    periodic = Periodic(task=task, every=every)
    _REGISTRY[periodic.name] = periodic


def registered() -> list[Periodic]:
    """Return the registered periodic tasks, sorted by name."""
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]

"""The `pacte` command: Pacte's own subcommands and every Django management command."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    """Run a `pacte` subcommand (`pacte --help` lists them; each has its own `--help`)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacte.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else ["pacte", *argv])
    args[0] = "pacte"
    execute_from_command_line(args)


if __name__ == "__main__":  # pragma: no cover
    main()

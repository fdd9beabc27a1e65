"""Build step: ship the compiled French catalogues in every built package (wheel or sdist install).

The .po files are the source; the .mo files Django reads are compiled here, in pure Python (Babel), so
`pip install .` or a wheel gives French and English without GNU gettext on the machine. A developer's
checkout gets them from `make` (compilemessages) instead.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithCatalogues(build_py):
    """build_py, then every src/pacte/*/locale/*/LC_MESSAGES/*.po compiled beside it as .mo."""

    def run(self) -> None:
        super().run()
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        source = Path(__file__).resolve().parent / "src"
        for po in sorted(source.glob("pacte/*/locale/*/LC_MESSAGES/*.po")):
            target = Path(self.build_lib) / po.relative_to(source).with_suffix(".mo")
            target.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as handle:
                catalog = read_po(handle, locale=po.parts[-3])
            with target.open("wb") as handle:
                write_mo(handle, catalog)


setup(cmdclass={"build_py": BuildPyWithCatalogues})

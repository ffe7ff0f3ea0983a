"""Only what pyproject.toml cannot say: the gettext catalogues (``api/translations``) are
compiled, .po to .mo, whenever the package is built or installed, so every wheel, image and
editable install carries them (README, "Languages")."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithCatalogues(build_py):
    def run(self) -> None:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po in Path(__file__).parent.glob("api/translations/*/LC_MESSAGES/messages.po"):
            with po.open("rb") as source:
                catalogue = read_po(source)
            with po.with_suffix(".mo").open("wb") as compiled:
                write_mo(compiled, catalogue)
        super().run()


setup(cmdclass={"build_py": BuildWithCatalogues})

"""Ship the checked-in template.xlsx and the Excel add-in inside the wheel (xlcheck/...)."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithTemplate(build_py):
    def run(self):
        super().run()
        root = Path(__file__).parent
        for src, rel in ((root / "template.xlsx", "template.xlsx"),
                         (root / "addin" / "xlcheck.xlam", "addin/xlcheck.xlam")):
            if src.exists():
                dst = Path(self.build_lib) / "xlcheck" / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)


setup(cmdclass={"build_py": BuildWithTemplate})

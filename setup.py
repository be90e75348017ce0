"""Ship the checked-in template.xlsx inside the wheel as xlcheck/template.xlsx."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithTemplate(build_py):
    def run(self):
        super().run()
        src = Path(__file__).parent / "template.xlsx"
        if src.exists():
            dst = Path(self.build_lib) / "xlcheck" / "template.xlsx"
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)


setup(cmdclass={"build_py": BuildWithTemplate})

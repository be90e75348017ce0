"""The desktop add-in (addin/xlcheck.xlam) and the xlwings Lite script are built reproducibly."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from xml.etree.ElementTree import fromstring

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "addin" / "build_addin.py"
CUI = "{http://schemas.microsoft.com/office/2006/01/customui}"


def _build_module():
    spec = importlib.util.spec_from_file_location("build_addin", BUILD)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("addin-build")
    proc = subprocess.run([sys.executable, str(BUILD), "--out", str(out)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out


def test_addin_build_ribbon_has_tab_and_button(built):
    with zipfile.ZipFile(built / "xlcheck.xlam") as z:
        names = z.namelist()
        ui = fromstring(z.read("customUI/customUI.xml"))
        rels = z.read("_rels/.rels").decode("utf-8")
        ct = z.read("[Content_Types].xml").decode("utf-8")
    assert "xl/vbaProject.bin" in names
    assert "customUI/customUI.xml" in rels                       # the ribbon part is wired
    assert "addin.macroEnabled" in ct                            # an add-in (.xlam), macros kept
    tabs = list(ui.iter(CUI + "tab"))
    assert [t.get("label") for t in tabs] == ["绩效自评"]
    buttons = list(ui.iter(CUI + "button"))
    assert len(buttons) == 1
    b = buttons[0]
    assert b.get("label") == "校验" and b.get("size") == "large" and b.get("imageMso")
    assert b.get("onAction") == "RibbonMyAddin.RunMain"


def test_addin_build_button_macro_runs_xlcheck_main(built):
    """The VBA project is xlwings' own, kept byte for byte, and its ribbon macro imports the
    module named like the add-in file: xlcheck.xlam → `import xlcheck; xlcheck.main()`."""
    mod = _build_module()
    with zipfile.ZipFile(built / "xlcheck.xlam") as z:
        vba = z.read("xl/vbaProject.bin")
    with zipfile.ZipFile(mod.xlwings_dir() / mod.TEMPLATE_NAME) as z:
        assert z.read("xl/vbaProject.bin") == vba
    modules = mod.vba_modules(vba)
    src = modules["RibbonMyAddin"]
    assert "Sub RunMain(control As IRibbonControl)" in src
    assert 'RunPython "import " & mymodule & ";" & mymodule & ".main()"' in src
    assert "Function RunPython" in modules["xlwings"]
    # installed as xlcheck.addin.xlam, the macro runs `import xlcheck.addin;xlcheck.addin.main()`
    import importlib
    import xlcheck.addin
    command = xlcheck.addin.ribbon_command(xlcheck.addin.INSTALLED_NAME)
    assert command == "import xlcheck.addin;xlcheck.addin.main()"
    module = command.split(";")[0].split()[1]
    assert callable(importlib.import_module(module).main)


def test_addin_build_is_reproducible_and_checked_in(built, tmp_path):
    import xlwings
    proc = subprocess.run([sys.executable, str(BUILD), "--out", str(tmp_path)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    for name in ("xlcheck.xlam", "LICENSE-xlwings.txt", "lite/requirements.txt"):
        assert (tmp_path / name).read_bytes() == (built / name).read_bytes(), name
    mod = _build_module()
    files = mod.bundle_files()          # same sources, same script (sources may change between builds)
    assert mod.build_lite_main(files) == mod.build_lite_main(list(files))
    with zipfile.ZipFile(ROOT / "addin" / "xlcheck.xlam") as z:
        checked_in_version = mod.check_template_macro(z.read("xl/vbaProject.bin"))
    if checked_in_version == xlwings.__version__:
        assert (ROOT / "addin" / "xlcheck.xlam").read_bytes() == (built / "xlcheck.xlam").read_bytes()


def test_addin_build_keeps_xlwings_licence(built):
    text = (built / "LICENSE-xlwings.txt").read_text(encoding="utf-8")
    assert "BSD 3-clause" in text and "Zoomer Analytics" in text
    assert "Redistributions in binary form must reproduce the above copyright notice" in text
    checked_in = (ROOT / "addin" / "LICENSE-xlwings.txt").read_text(encoding="utf-8")
    assert "BSD 3-clause" in checked_in and "Redistributions in binary form" in checked_in


def test_addin_build_lite_requirements(built):
    import xlwings
    lines = [ln.strip() for ln in (built / "lite" / "requirements.txt").read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert lines[0] == f"xlwings=={xlwings.__version__}"
    assert "pandas" in lines and "pandera" in lines
    assert not any("xlcheck" in ln or "http" in ln for ln in lines)     # xlcheck is embedded, no URL


def test_addin_build_lite_script_validates_with_embedded_xlcheck(built, tmp_path):
    """Run the Lite script as Lite would (its @script coroutine with a Book), in a fresh
    interpreter: xlcheck comes from the embedded bundle, and 审核结果 is written."""
    from xlcheck.fill import fill
    import tomllib
    data = tomllib.loads((ROOT / "examples" / "data" / "clean-2024.toml").read_text(encoding="utf-8"))
    tables = {k: data[k] for k in ("tasks", "indicators", "scores", "problems") if k in data}
    wbpath = tmp_path / "lite.xlsx"
    fill(wbpath, dict(data["cells"]), tables)
    code = textwrap.dedent(f"""
        import asyncio, os, runpy, sys
        os.environ["XLWINGS_LICENSE_KEY"] = "noncommercial"
        sys.path = [p for p in sys.path if not p.rstrip("/").endswith("src")]
        import xlwings                       # loaded before the block below, as in Lite
        class NotInLite:                     # what Lite has not: only requirements.txt + Pyodide
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("openpyxl", "lxml", "click", "python_calamine"):
                    raise ImportError(name + " is not installed in xlwings Lite")
        sys.meta_path.insert(0, NotInLite())
        ns = runpy.run_path({str(built / "lite" / "main.py")!r})
        import xlcheck, xlcheck.addin
        assert "xlcheck-" in xlcheck.__file__, xlcheck.__file__
        book = xlcheck.addin.remote_book(xlcheck.addin.book_payload({str(wbpath)!r}))
        asyncio.run(ns["validate"](book))
        acts = book.json()["actions"]
        vals = [a for a in acts if a["func"] == "setValues"][0]["values"]
        print(vals[0][0]); print(vals[1])
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "审核结果" in proc.stdout and "审核结论" in proc.stdout
    assert "审核结论：" in proc.stdout          # the script's one-line summary

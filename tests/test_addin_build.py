"""The desktop add-in (addin/xlcheck.xlam) is built reproducibly and checked in; the xlwings Lite
script is built from the current sources by one command (addin/build_lite.py) and never checked in."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from pathlib import Path
from xml.etree.ElementTree import fromstring

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "addin" / "build_addin.py"
BUILD_LITE = ROOT / "addin" / "build_lite.py"
CUI = "{http://schemas.microsoft.com/office/2006/01/customui}"


def _build_module():
    spec = importlib.util.spec_from_file_location("build_addin", BUILD)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("addin-build")
    for cmd in ([sys.executable, str(BUILD), "--out", str(out)],
                [sys.executable, str(BUILD_LITE), "--out", str(out / "lite-build")]):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
    return out


def _vba(xlam: Path) -> dict[str, str]:
    """Module name -> VBA source of an .xlam, read by oletools' olevba."""
    from oletools.olevba import VBA_Parser
    parser = VBA_Parser(str(xlam))
    try:
        return {Path(n).stem: code for _f, _s, n, code in parser.extract_macros()}
    finally:
        parser.close()


def test_addin_vba_names_the_installed_xlwings_version():
    """The shipped VBA calls version-named files (xlwings64-X.dll, xlwings-X.applescript on Mac):
    the installed xlwings — pinned exactly in pyproject.toml — must be that version X."""
    import xlwings
    src = _vba(ROOT / "addin" / "xlcheck.xlam")["xlwings"]
    const = [ln for ln in src.splitlines() if ln.strip().startswith("Public Const XLWINGS_VERSION")]
    assert len(const) == 1
    vba_version = const[0].split('"')[1]
    assert vba_version == xlwings.__version__, \
        f"addin/xlcheck.xlam carries xlwings {vba_version}'s VBA, xlwings {xlwings.__version__} is installed: " \
        "rebuild with python addin/build_addin.py and update the pin"
    assert f'"xlwings64-{vba_version}.dll"' in src and f'"xlwings32-{vba_version}.dll"' in src
    assert 'AppleScriptTask("xlwings-" & XLWINGS_VERSION & ".applescript"' in src
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    assert f"xlwings=={vba_version}" in [d.split(";")[0].replace(" ", "") for d in deps]


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
    module named like the add-in file: xlcheck.addin.xlam → `import xlcheck.addin; xlcheck.addin.main()`."""
    mod = _build_module()
    with zipfile.ZipFile(built / "xlcheck.xlam") as z:
        vba = z.read("xl/vbaProject.bin")
    with zipfile.ZipFile(mod.xlwings_dir() / mod.TEMPLATE_NAME) as z:
        assert z.read("xl/vbaProject.bin") == vba
    modules = _vba(built / "xlcheck.xlam")
    src = modules["RibbonMyAddin"]
    assert "Sub RunMain(control As IRibbonControl)" in src
    assert 'RunPython "import " & mymodule & ";" & mymodule & ".main()"' in src
    assert "Function RunPython" in modules["xlwings"]
    import importlib
    import xlcheck.addin_install
    command = xlcheck.addin_install.ribbon_command(xlcheck.addin_install.INSTALLED_NAME)
    assert command == "import xlcheck.addin;xlcheck.addin.main()"
    module = command.split(";")[0].split()[1]
    assert callable(importlib.import_module(module).main)


def test_addin_build_is_reproducible_and_checked_in(built):
    """Same xlwings, same sources: the build gives the checked-in bytes."""
    for name in ("xlcheck.xlam", "LICENSE-xlwings.txt", "lite/requirements.txt"):
        assert (ROOT / "addin" / name).read_bytes() == (built / name).read_bytes(), name


def test_addin_lite_script_is_built_not_committed(built):
    tracked = subprocess.run(["git", "ls-files", "addin/lite", "build"], cwd=ROOT, capture_output=True,
                             text=True).stdout.split()
    assert tracked == ["addin/lite/requirements.txt"]
    main = (built / "lite-build" / "main.py").read_text(encoding="utf-8")
    assert "@script" in main and "async def validate(book: xw.Book)" in main
    assert (built / "lite-build" / "requirements.txt").read_bytes() == \
        (ROOT / "addin" / "lite" / "requirements.txt").read_bytes()
    mod = _build_module()
    files = mod.bundle_files()
    names = {n for n, _ in files}
    assert "xlcheck/addin.py" in names and "xlcheck/checks/interface.toml" in names
    assert not any(n.startswith("xlcheck/serve/") or n == "xlcheck/cli.py" for n in names)
    assert mod.build_lite_main(files) == mod.build_lite_main(list(files))       # deterministic


def test_addin_lite_bundle_carries_the_template_hints_not_the_template(built):
    """Lite has no lxml to read template.xlsx: build_lite.py embeds the hints it reads from it."""
    import base64
    import io
    import json
    import re

    from xlcheck.xlwings_reader import HINTS_FILE, TemplateHints, template_hints
    main = (built / "lite-build" / "main.py").read_text(encoding="utf-8")
    chunks = main.split("_BUNDLE = (", 1)[1].split(")", 1)[0]
    data = base64.b64decode("".join(re.findall(r'"([A-Za-z0-9+/=]+)"', chunks)))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        hints = json.loads(z.read(f"xlcheck/{HINTS_FILE}"))
    assert not any(n.endswith(".xlsx") for n in names)
    assert TemplateHints.from_dict(hints) == template_hints() and hints["names"] and hints["columns"]


def test_addin_build_keeps_xlwings_licence(built):
    text = (built / "LICENSE-xlwings.txt").read_text(encoding="utf-8")
    assert "BSD 3-clause" in text and "Zoomer Analytics" in text
    assert "Redistributions in binary form must reproduce the above copyright notice" in text


LITE_RUN = """
import asyncio, json, os, runpy, sys
os.environ["XLWINGS_LICENSE_KEY"] = "noncommercial"
sys.path = [p for p in sys.path if not p.rstrip("/").endswith("src")]
import xlwings, xlwings.server       # loaded before the script, as in Lite
before = set(sys.modules)
ns = runpy.run_path({main!r})
import xlcheck, xlcheck.addin
assert "xlcheck-" in xlcheck.__file__, xlcheck.__file__
book = xlwings.Book(json=json.load(open({payload!r}, encoding="utf-8")))
asyncio.run(ns["validate"](book))
stdlib = set(sys.stdlib_module_names)
third = sorted({{m.split(".")[0] for m in set(sys.modules) - before if not m.startswith("_")}} - stdlib - {{"xlcheck"}})
print(json.dumps({{"imports": third, "actions": book.json()["actions"]}}, ensure_ascii=False, default=str))
"""


def test_addin_lite_script_validates_with_embedded_xlcheck(built, tmp_path):
    """The freshly built Lite script, run as Lite runs a script (its @script coroutine with a
    Book), in a fresh interpreter: xlcheck comes from the embedded bundle, 审核结果 is written, and
    the third-party packages it imports are exactly those requirements.txt lists."""
    import json
    sys.path.insert(0, str(ROOT / "tests"))
    from payloads import book_payload
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps(book_payload(ROOT / "examples" / "huangpu-2022.xlsx"), ensure_ascii=False),
                       encoding="utf-8")
    code = textwrap.dedent(LITE_RUN.format(main=str(built / "lite-build" / "main.py"), payload=str(payload)))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "审核结论" in proc.stdout
    writes = [a for a in out["actions"] if a["func"] == "setValues"]
    assert writes and str(writes[0]["values"][0][0]).startswith("审核结果")
    mod = _build_module()
    required = [ln.split("==")[0].strip() for ln in (ROOT / "addin" / "lite" / "requirements.txt")
                .read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
    assert sorted(required) == sorted(mod.LITE_IMPORTS)
    # what the script imported beyond xlwings (already loaded, as in Lite) and the standard library:
    # a package Pyodide does not ship must be listed, and then tests/test_lite_pyodide.py must load it
    assert set(out["imports"]) | {"xlwings"} == set(mod.LITE_IMPORTS), \
        f"the Lite path imports {out['imports']} besides xlwings: LITE_IMPORTS and requirements.txt list exactly that"

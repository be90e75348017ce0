#!/usr/bin/env python3
"""Build the desktop add-in addin/xlcheck.xlam (and addin/lite/requirements.txt beside it).

    python addin/build_addin.py [--out DIR]      # default: the addin/ folder beside this script
    python addin/build_lite.py [--out DIR]       # the xlwings Lite script (default build/lite/main.py)

The add-in is xlwings' own custom-add-in template (`quickstart_addin_ribbon.xlam`, shipped in the
xlwings wheel; `xlwings quickstart NAME --addin --ribbon` copies the same file) with only its ribbon
rewritten: a tab 绩效自评 with one large button 校验. Everything else — the VBA project
(xl/vbaProject.bin, binary, kept byte for byte), the config sheet, styles — stays as xlwings ships it.

How the button reaches Python (checked below, on every build, by reading the VBA source out of
vbaProject.bin): the template's macro `RibbonMyAddin.RunMain(control As IRibbonControl)` runs
`RunPython "import " & m & ";" & m & ".main()"` where m is the add-in's file name up to its last dot.
`xlcheck addin install` therefore installs addin/xlcheck.xlam into XLSTART as `xlcheck.addin.xlam`,
and the button runs `import xlcheck.addin;xlcheck.addin.main()` → `validate(xw.Book.caller())` on
the active workbook (RunPython passes the active workbook's name). Loaded by hand under its built
name, the add-in would run `import xlcheck;xlcheck.main()` instead. The xlwings VBA module reads its
settings from `myaddin.conf` (PROJECT_NAME = "myaddin" in the template): `xlcheck addin install`
writes the Python interpreter there.

Reproducible: same xlwings wheel and same sources give the same bytes (fixed zip timestamps and
entry order). The xlwings Lite script (built by build_lite.py, never committed) embeds xlcheck itself
(a zip of the package, base64) because Lite installs packages from PyPI only and xlcheck is not
published there.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import io
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TEMPLATE_NAME = "quickstart_addin_ribbon.xlam"
ADDIN_NAME = "xlcheck.xlam"
RIBBON_MACRO = "RibbonMyAddin.RunMain"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)

RIBBON_XML = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui">
    <ribbon>
        <tabs>
            <tab id="xlcheckTab" label="绩效自评">
                <group id="xlcheckGroup" label="部门整体支出绩效自评">
                    <button id="xlcheckValidate" label="校验" size="large" imageMso="ReviewAcceptChange"
                            screentip="校验本工作簿"
                            supertip="审核算术关系、分值和必要的说明，结果写入“审核结果”工作表（不会自动保存）。"
                            onAction="{macro}" />
                </group>
            </tab>
        </tabs>
    </ribbon>
</customUI>
""".format(macro=RIBBON_MACRO)


# ---------------------------------------------------------------- reading the VBA source (oletools)

def vba_modules(vba_project: bytes) -> dict[str, str]:
    """Module name -> VBA source text of a vbaProject.bin (or of a whole .xlam), read by oletools'
    olevba (a development dependency: the `test` extra)."""
    from oletools.olevba import VBA_Parser
    parser = VBA_Parser("vbaProject.bin", data=vba_project)
    try:
        return {Path(vba_name).stem: code for _f, _s, vba_name, code in parser.extract_macros()}
    finally:
        parser.close()


def check_template_macro(vba_project: bytes) -> str:
    """Fail loudly when the template's ribbon macro is not the one this build relies on; returns
    the xlwings version the VBA module was written for."""
    mods = vba_modules(vba_project)
    module, _, sub = RIBBON_MACRO.partition(".")
    src = mods.get(module, "")
    if f"Sub {sub}(control As IRibbonControl)" not in src:
        raise SystemExit(f"{TEMPLATE_NAME}: macro {RIBBON_MACRO}(control As IRibbonControl) not found; "
                         "the xlwings template changed — update RIBBON_MACRO in addin/build_addin.py")
    if "ThisWorkbook.Name" not in src or 'RunPython "import " & mymodule' not in src:
        raise SystemExit(f"{TEMPLATE_NAME}: {RIBBON_MACRO} no longer runs "
                         "'import <add-in name>; <add-in name>.main()' — check the build")
    version = ""
    for line in mods.get("xlwings", "").splitlines():
        if line.startswith("Public Const XLWINGS_VERSION"):
            version = line.split('"')[1]
    return version


# ---------------------------------------------------------------- the .xlam

def xlwings_dir() -> Path:
    import xlwings
    return Path(xlwings.__file__).resolve().parent


def _zip(entries: list[tuple[str, bytes]], level: int = 6) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for name, body in entries:
            zi = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.create_system = 0
            zi.external_attr = 0
            z.writestr(zi, body)
    return buf.getvalue()


def build_xlam(template: Path | None = None) -> tuple[bytes, str]:
    """(bytes of xlcheck.xlam, xlwings version of its VBA)."""
    template = template or xlwings_dir() / TEMPLATE_NAME
    entries = []
    version = ""
    with zipfile.ZipFile(template) as z:
        for info in z.infolist():
            body = z.read(info.filename)
            if info.filename == "customUI/customUI.xml":
                body = RIBBON_XML.encode("utf-8")
            elif info.filename == "xl/vbaProject.bin":
                version = check_template_macro(body)
            entries.append((info.filename, body))
    names = [n for n, _ in entries]
    if "customUI/customUI.xml" not in names or "xl/vbaProject.bin" not in names:
        raise SystemExit(f"{template}: not the xlwings custom add-in template (no ribbon or no VBA project)")
    return _zip(entries), version


def licence_text() -> str:
    """xlwings' BSD licence, from the installed package's metadata."""
    from importlib.metadata import files
    for f in files("xlwings") or ():
        if f.name == "LICENSE.txt":
            return f.read_text(encoding="utf-8")
    raise SystemExit("xlwings' LICENSE.txt not found in its package metadata")


# ---------------------------------------------------------------- xlwings Lite

LITE_SKIP = {"__pycache__", "serve"}     # serve/: the bureau's web service, not part of 校验 in Excel
# command-line only (click, openpyxl, lxml): not part of validate(), left out of the Lite bundle
LITE_SKIP_MODULES = {"cli.py", "fill.py", "template.py", "summary.py", "output.py", "report.py", "distribute.py"}


def bundle_files(source: Path = REPO) -> list[tuple[str, bytes]]:
    """xlcheck's code as Lite needs it: the package and its rule set (xlcheck.checks), from the
    source tree `source` (default: this repository's work tree). build_lite.py adds the template
    hints (template_hints.json); template.xlsx itself is not shipped (Lite has no lxml to read it)."""
    source = Path(source)
    src = source / "src" / "xlcheck"
    checks = source / "checks"
    out = []
    for base, prefix in ((src, "xlcheck"), (checks, "xlcheck/checks")):
        for p in sorted(base.rglob("*")):
            if not p.is_file() or LITE_SKIP & set(p.relative_to(base).parts):
                continue
            if p.suffix not in (".py", ".toml", ".txt"):
                continue
            if base == src and p.name in LITE_SKIP_MODULES:
                continue
            out.append((f"{prefix}/{p.relative_to(base).as_posix()}", p.read_bytes()))
    return out


LITE_MAIN = '''"""xlwings Lite：部门整体支出绩效自评“校验”。

用法：在 xlwings Lite 任务窗格的 main.py 中粘贴本文件全部内容，在 requirements.txt 中粘贴
同一文件夹里的 requirements.txt（改动 requirements.txt 后须重启 xlwings Lite），然后在脚本列表中
选择 validate 并点击运行（或按 F5）。结果写入本工作簿的“审核结果”工作表；工作簿不会自动保存。

本文件由 addin/build_lite.py 生成（xlcheck {version}），请勿手工修改：xlcheck 以 zip 形式内嵌于下方，
因为 xlwings Lite 只能从 PyPI 安装软件包，而 xlcheck 未在 PyPI 发布。
"""
import base64
import io
import os
import sys
import tempfile
import zipfile

import xlwings as xw
from xlwings import script

_BUNDLE_SHA = "{sha}"
_BUNDLE = (
{chunks}
)


def _install_xlcheck():
    """Unpack the embedded xlcheck once per session and put it first on sys.path."""
    target = os.path.join(tempfile.gettempdir(), "xlcheck-" + _BUNDLE_SHA[:12])
    if not os.path.isdir(os.path.join(target, "xlcheck")):
        with zipfile.ZipFile(io.BytesIO(base64.b64decode("".join(_BUNDLE)))) as z:
            z.extractall(target)
    if target not in sys.path:
        sys.path.insert(0, target)
    loaded = sys.modules.get("xlcheck")
    if loaded is not None and not str(getattr(loaded, "__file__", "")).startswith(target):
        for name in [m for m in sys.modules if m == "xlcheck" or m.startswith("xlcheck.")]:
            del sys.modules[name]      # an older bundle of this session: use this one


_install_xlcheck()


@script
async def validate(book: xw.Book):
    """校验：审核本工作簿的算术、分值和说明，结果写入“审核结果”工作表。"""
    from xlcheck.addin import main_async

    result = await main_async(book)
    if result is None:
        print("未能审核，原因已写入“审核结果”表。")
    else:
        c = result.counts
        status = "通过" if result.status == "pass" else "未通过"
        print(f"审核结论：{{status}}（错误 {{c['error']}}，警告 {{c['warning']}}，提示 {{c['info']}}），详见“审核结果”表。")
'''


def build_lite_main(files: list[tuple[str, bytes]] | None = None) -> str:
    files = files if files is not None else bundle_files()
    init = dict(files).get("xlcheck/__init__.py", b"").decode("utf-8")
    version = next((ln.split("=")[1].strip().strip("\"'") for ln in init.splitlines()
                    if ln.startswith("__version__")), "?")
    data = _zip(files, level=9)
    b64 = base64.b64encode(data).decode("ascii")
    chunks = "\n".join(f'    "{b64[i:i + 100]}"' for i in range(0, len(b64), 100))
    return LITE_MAIN.format(version=version, sha=hashlib.sha256(data).hexdigest(), chunks=chunks)


# Third-party packages the Lite path (xlcheck.addin.validate_async on an xlwings Book) imports,
# besides the standard library; tests/test_addin_build.py measures the import set and compares.
# (xlcheck.ooxml loads lxml only when a file is read or written: never on the Lite path.)
LITE_IMPORTS = ("xlwings",)


def lite_requirements(xlwings_version: str) -> str:
    return (
        "# xlwings Lite（Pyodide）所需的软件包；xlcheck 本身内嵌在 main.py 中。\n"
        "# 只列出“校验”真正用到的包：xlwings 与加载项的 VBA 版本一致。\n"
        "# 改动本文件后，须在 xlwings Lite 中重启（Restart）才会重新安装。\n"
        f"xlwings=={xlwings_version}\n"
        + "".join(f"{name}\n" for name in LITE_IMPORTS if name != "xlwings")
    )


# ---------------------------------------------------------------- main

def build(out: Path) -> dict[str, Path]:
    import xlwings
    out = Path(out)
    (out / "lite").mkdir(parents=True, exist_ok=True)
    xlam, vba_version = build_xlam()
    paths = {
        "xlam": out / ADDIN_NAME,
        "license": out / "LICENSE-xlwings.txt",
        "lite_requirements": out / "lite" / "requirements.txt",
    }
    paths["xlam"].write_bytes(xlam)
    paths["license"].write_text(
        "addin/xlcheck.xlam 由 xlwings 的自定义加载项模板（quickstart_addin_ribbon.xlam）生成，\n"
        "其中的 VBA 工程（xl/vbaProject.bin）来自 xlwings，按以下 BSD 3-clause 许可证分发。\n"
        f"This add-in is built from the custom add-in template of xlwings {xlwings.__version__}; its VBA\n"
        "project is xlwings' and is distributed under xlwings' BSD 3-clause licence:\n\n"
        + licence_text(), encoding="utf-8")
    paths["lite_requirements"].write_text(lite_requirements(vba_version or xlwings.__version__), encoding="utf-8")
    return paths


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE, help="output folder (default: addin/)")
    args = ap.parse_args(argv)
    for what, p in build(args.out).items():
        print(f"{what:<18} {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

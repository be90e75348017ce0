"""Installing the desktop add-in: xlwings' own installer copies addin/xlcheck.xlam into Excel's
XLSTART, and the interpreter setting is written where the add-in's VBA reads it, as xlwings
writes it (the locale's encoding, conda settings under conda)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from .atomic import write_atomic

ADDIN_FILE = "xlcheck.xlam"
# The template's ribbon macro runs `import <file name up to its last dot>; <same>.main()`, so the
# add-in is installed under this name: its button runs `import xlcheck.addin;xlcheck.addin.main()`.
INSTALLED_NAME = "xlcheck.addin.xlam"
CONFIG_NAME = "myaddin"   # PROJECT_NAME of the xlwings VBA module in the add-in template


def ribbon_command(addin_file_name: str) -> str:
    """The Python command the template's RibbonMyAddin.RunMain runs for an add-in file name
    (VBA: Left(ThisWorkbook.Name, InStrRev(ThisWorkbook.Name, ".") - 1))."""
    module = addin_file_name[:addin_file_name.rfind(".")]
    return f"import {module};{module}.main()"


def addin_file() -> Path | None:
    """The built add-in: beside the package (installed data) or in the source tree's addin/."""
    here = Path(__file__).resolve().parent
    for p in (here / "addin" / ADDIN_FILE, here.parent.parent / "addin" / ADDIN_FILE):
        if p.is_file():
            return p
    return None


def config_file(platform: str | None = None) -> Path:
    """Where the add-in's VBA (xlwings GetConfig, user layer) reads its settings."""
    platform = platform or sys.platform
    home = Path(os.path.expanduser("~"))
    if platform.startswith("darwin"):   # Excel's sandbox home
        return home / "Library" / "Containers" / "com.microsoft.Excel" / "Data" / f"{CONFIG_NAME}.conf"
    return home / f".{CONFIG_NAME}" / f"{CONFIG_NAME}.conf"


def config_encoding() -> str:
    """The encoding xlwings writes its config in and the VBA reads it with (`Input #` uses the ANSI
    code page on Windows: cp936 on Chinese Windows); xlwings' `config_create` opens the file with
    the locale's default encoding, and so do we."""
    import locale
    return locale.getpreferredencoding(False)


def conda_settings(environ=None) -> tuple[str | None, str | None]:
    """(CONDA PATH, CONDA ENV) when this Python runs in an activated conda environment, as
    xlwings.cli.get_conda_settings computes them (the conda root: CONDA_EXE minus Scripts\\conda.exe)."""
    environ = os.environ if environ is None else environ
    env, exe = environ.get("CONDA_DEFAULT_ENV"), environ.get("CONDA_EXE")
    if not (env and exe):
        return None, None
    sep = "\\" if "\\" in exe else os.sep
    return sep.join(exe.split(sep)[:-2]), env


MANAGED_KEYS = ("INTERPRETER_WIN", "INTERPRETER_MAC", "CONDA PATH", "CONDA ENV", "ADD_WORKBOOK_TO_PYTHONPATH")


def config_settings(interpreter: str, platform: str, environ=None) -> list[tuple[str, str]]:
    """What xlwings' own `config_create` writes: under conda on Windows the conda root and
    environment (the VBA activates it), otherwise the interpreter for this OS. Plus
    ADD_WORKBOOK_TO_PYTHONPATH False: xlcheck needs nothing beside the workbook, and with it on, a
    workbook on OneDrive/SharePoint (an https:// FullName) stops RunPython before xlcheck runs."""
    conda_path, conda_env = conda_settings(environ)
    if conda_path and platform.startswith("win"):
        out = [("CONDA PATH", conda_path), ("CONDA ENV", conda_env)]
    else:
        out = [("INTERPRETER_MAC" if platform.startswith("darwin") else "INTERPRETER_WIN", interpreter)]
    return out + [("ADD_WORKBOOK_TO_PYTHONPATH", "False")]


def write_interpreter_config(path, interpreter: str, platform: str | None = None, *,
                             encoding: str | None = None, environ=None) -> None:
    """Point the add-in's VBA at this Python (see config_settings), keeping the user's other
    settings; written in the encoding the VBA reads (config_encoding). Raises UnicodeEncodeError
    when a path cannot be written in that code page (the VBA could not read it either)."""
    platform = platform or sys.platform
    encoding = encoding or config_encoding()
    settings = config_settings(interpreter, platform, environ)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    if path.exists():
        for ln in path.read_bytes().decode(encoding, errors="replace").splitlines():
            key = ln.split(",", 1)[0].strip().strip('"').upper()
            if ln.strip() and key not in MANAGED_KEYS:
                lines.append(ln)
    lines += [f'"{k}","{v}"' for k, v in settings]
    # CRLF: what VBA's Line Input expects on Windows; Input # also accepts it on macOS
    write_atomic(path, ("\r\n".join(lines) + "\r\n").encode(encoding))


def install_addin(xlam=None, *, echo=print) -> int:
    """`xlcheck addin install`: copy the add-in into Excel's XLSTART folder with xlwings' own
    installer (as `xlwings addin install --file` does), named INSTALLED_NAME, check that it landed,
    and point it at this Python. Returns the exit code."""
    import argparse
    import contextlib
    import io
    if not (sys.platform.startswith("win") or sys.platform.startswith("darwin")):
        echo("无法安装：Excel 加载项只能安装在 Windows 或 macOS 的 Microsoft Excel 中。"
             "在本系统上请使用命令行 xlcheck 文件或文件夹 进行审核，或在 Excel 中使用 xlwings Lite（见 addin/README.md）。")
        return 2
    path = Path(xlam) if xlam else addin_file()
    if path is None or not path.is_file():
        echo(f"找不到加载项文件 {ADDIN_FILE}。请用 --file 指定（源码目录 addin/{ADDIN_FILE}）。")
        return 2
    said = io.StringIO()      # xlwings' installer prints English and swallows copy errors
    try:
        import shutil
        import tempfile
        import xlwings.cli as xwcli
        with contextlib.redirect_stdout(said):
            target_dir = Path(xwcli.get_addin_dir())
            with tempfile.TemporaryDirectory() as tmp:
                named = Path(tmp) / INSTALLED_NAME      # see INSTALLED_NAME: the name selects the module
                shutil.copyfile(path, named)
                xwcli.addin_install(argparse.Namespace(file=str(named), dir=None, glob=False))
    except Exception as e:  # Excel missing, XLSTART not found …
        echo(f"安装失败：{type(e).__name__}: {e}")
        echo("请确认已安装 Microsoft Excel 并至少打开过一次，然后关闭 Excel 再运行本命令。")
        return 1
    target = target_dir / INSTALLED_NAME
    if not target.is_file() or target.stat().st_size != path.stat().st_size:
        echo(f"安装失败：加载项没有复制到 Excel 的启动文件夹（XLSTART）：{target}")
        echo("请完全退出 Excel（任务管理器中也没有 EXCEL.EXE）后重新运行本命令；"
             "仍然失败时，请检查该文件夹是否可写（公司电脑可能需要管理员权限），详见 addin/README.md“安装失败”。")
        detail = said.getvalue().strip()
        if detail:
            echo("技术信息：" + detail.replace("\n", " "))
        return 1
    conf = config_file()
    try:
        write_interpreter_config(conf, sys.executable)
    except UnicodeEncodeError:
        echo(f"安装失败：Python 的路径 {sys.executable} 含有本机系统编码（{config_encoding()}）"
             "无法表示的字符，Excel 读不出这个路径。")
        echo("请把 Python 安装到只含英文字母和数字的文件夹（例如 C:\\Python311），再运行本命令。")
        return 1
    except OSError as e:
        echo(f"安装失败：无法写入设置文件 {conf}：{e}")
        return 1
    echo(f"已安装“绩效自评”加载项：{target}")
    echo(f"Python：{sys.executable}")
    echo(f"设置文件：{conf}")
    echo("请完全退出并重新打开 Excel：功能区出现“绩效自评”选项卡，点击“校验”即可审核当前工作簿。")
    return 0

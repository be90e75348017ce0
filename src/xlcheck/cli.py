"""The `xlcheck` command line."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__
from .cli_chinese import Choice, ChineseCommand, ChineseGroup, IntRange, Path as PathType, is_help_option
from .errors import XlcheckError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


DEFAULT_OUT = Path("xlcheck-out")


class _CheckContext(click.Context):
    @property
    def command_path(self) -> str:      # "xlcheck", not "xlcheck check", in usage errors' hints
        return self.parent.command_path if self.parent is not None else super().command_path


class _CheckCommand(ChineseCommand):
    """The main job. Hidden from the command list: `xlcheck PATH…` runs it, and its usage line and
    error hints read `xlcheck`, not `xlcheck check`."""
    context_class = _CheckContext

    def format_usage(self, ctx, formatter):
        formatter.write_usage("xlcheck", "[选项] PATH…", prefix="用法：")


class _Main(ChineseGroup):
    """`xlcheck PATH…` means the hidden `check` command; any other registered command (template,
    rules, addin, serve …) is listed under the main job's options in `xlcheck --help`."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["check", *args]
        return super().parse_args(ctx, args)

    ORDER = ("template", "rules", "addin", "serve")     # the rest follow in registration order

    def list_commands(self, ctx):
        return sorted(self.commands, key=lambda n: self.ORDER.index(n) if n in self.ORDER else len(self.ORDER))

    def format_help(self, ctx, formatter):
        formatter.write_usage("xlcheck", "[选项] PATH…", prefix="用法：")
        formatter.write_usage("xlcheck", "命令 [参数]…", prefix="　或：")
        self.format_help_text(ctx, formatter)
        check = self.commands["check"]
        cctx = click.Context(check, info_name="xlcheck", parent=ctx)
        records = [r for prm in check.get_params(cctx) if isinstance(prm, click.Option)
                   and not is_help_option(prm, cctx) and (r := prm.get_help_record(cctx))]
        records += [r for prm in self.get_params(ctx) if (r := prm.get_help_record(ctx))]
        with formatter.section("选项"):
            formatter.write_dl(records)
        cmds = [(name, cmd.get_short_help_str(limit=60)) for name in self.list_commands(ctx)
                if not (cmd := self.commands[name]).hidden]
        if cmds:
            with formatter.section("命令（xlcheck 命令 --help 查看各命令的选项）"):
                formatter.write_dl(cmds)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xlcheck", message="%(prog)s %(version)s", help="显示版本号")
def main():
    """部门整体支出绩效自评工作簿审核工具。

    \b
    审核 PATH…（文件或文件夹，递归查找 .xlsx/.xlsm）：默认把带“审核结果”表的批注副本和汇总表
    写入 xlcheck-out/ 下新建的、以日期时间命名的文件夹（如 xlcheck-out/2026-12-01_0412/），原文件不变。
    退出码：0 全部通过；1 有文件未通过或无法读取；2 命令用错。
    """


def _load(checks_dir):
    from .rules import load_checks
    try:
        return load_checks(checks_dir)
    except XlcheckError as e:
        raise click.UsageError(str(e)) from None


@main.command("check", cls=_CheckCommand, hidden=True)
# readable=False: an unreadable file is a FILE finding for that file, not the end of the run
@click.argument("paths", nargs=-1, required=True, metavar="PATH…", type=PathType(path_type=Path, readable=False))
@click.option("--out", "out_dir", type=PathType(path_type=Path), metavar="DIR",
              help="批注副本与汇总表写入 DIR（须为新的或空的目录）；不写时每次在 xlcheck-out/ 下新建"
                   "以日期时间命名的文件夹")
@click.option("--no-write", is_flag=True, help="只报告，不写任何文件")
@click.option("--in-place", is_flag=True,
              help="把审核结果表直接写入原文件；先在旁边备份为 X.bak.xlsx（已有则 X.bak2.xlsx …，从不覆盖）")
@click.option("--no-backup", is_flag=True, help="与 --in-place 一起使用：不备份")
@click.option("--format", "fmt", type=Choice(["text", "json"]), default="text",
              help="报告格式：text（默认）或 json（输出到标准输出）")
@click.option("--jobs", "-j", type=IntRange(1, 64), default=1, metavar="N", help="并行进程数（默认 1）")
@click.option("--checks", "checks_dir", type=PathType(path_type=Path, file_okay=False), metavar="DIR",
              help="使用财政局自己的检查规则目录")
@click.option("--quiet", "-q", is_flag=True, help="不显示进度")
def check_cmd(paths, out_dir, no_write, in_place, no_backup, fmt, jobs, checks_dir, quiet):
    """审核工作簿 PATH…（文件或文件夹，递归查找 .xlsx/.xlsm）。"""
    from .discover import find_workbooks
    from .runner import check_paths
    from .output import out_dir_problem
    out_given = out_dir is not None
    if no_write:
        clash = [flag for flag, on in (("--in-place", in_place), ("--out", out_given),
                                       ("--no-backup", no_backup)) if on]
        if clash:
            raise click.UsageError(f"--no-write 只报告、不写任何文件，不能与 {'、'.join(clash)} 同时使用")
    if in_place and out_given:
        raise click.UsageError("--in-place 把审核结果写回原文件、不写批注副本，不能与 --out 同时使用")
    if no_backup and not in_place:
        raise click.UsageError("--no-backup 只与 --in-place 一起使用（写回原文件前的备份）；"
                               "不用 --in-place 时原文件不会被修改，无需备份")
    if out_given and (problem := out_dir_problem(out_dir)):
        raise click.UsageError(problem)
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise click.UsageError(f"找不到文件或文件夹：{'、'.join(missing)}")
    _load(checks_dir)
    # the tool's own outputs are never inputs: the --out folder (unless the user points at it or
    # inside it), backups *.bak.xlsx, our 汇总.xlsx and folders holding it (earlier runs' --out)
    out_base = out_dir if out_given else DEFAULT_OUT
    out_res = out_base.resolve()
    inside_out = any(p.resolve() == out_res or out_res in p.resolve().parents for p in paths)
    files = find_workbooks(paths, skip_dirs=[] if inside_out else [out_base])
    from .output import drop_own_outputs
    files = drop_own_outputs(files, paths)
    if not files:
        raise click.UsageError("没有找到可审核的工作簿（.xlsx/.xlsm）")
    show_progress = not quiet and fmt == "text" and len(files) > 20 and sys.stderr.isatty()
    results = []
    with click.progressbar(length=len(files), label="审核中", file=sys.stderr,
                           hidden=not show_progress) as bar:
        for res in check_paths(files, checks_dir=str(checks_dir) if checks_dir else None, jobs=jobs,
                               progress=bar.update):
            results.append(res)
    from .runner import run_collection_rules
    run_collection_rules(results, _load(checks_dir))
    if fmt == "json":   # stdout carries the JSON document only; write messages go to stderr
        doc = {"tool": {"name": "xlcheck", "version": __version__}, "files": [r.to_json() for r in results]}
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2, default=str))
    else:
        from .report import print_text_report
        print_text_report(results, sheets_written=not no_write)
    written_ok = True
    if not no_write:
        from .output import write_outputs
        rep = write_outputs(results, out_dir=out_base, in_place=in_place, backup=not no_backup,
                            quiet=quiet or fmt == "json", new_folder=not out_given, roots=paths)
        written_ok = rep.ok
    sys.exit(EXIT_OK if written_ok and all(r.status == "pass" for r in results) else EXIT_FAIL)


@main.command("rules")
@click.argument("rule_id", required=False)
@click.option("--checks", "checks_dir", type=PathType(path_type=Path, file_okay=False), help="使用财政局自己的检查规则目录")
def rules_cmd(rule_id, checks_dir):
    """列出全部审核规则；给出规则编号则显示该规则的说明和示例。"""
    from .findings import SEVERITY_LABELS
    from .rules import FAMILIES
    checks = _load(checks_dir)
    if rule_id:
        r = checks.get(rule_id)
        if r is None:
            raise click.UsageError(f"没有编号为 {rule_id} 的规则（xlcheck rules 可列出全部规则）")
        click.echo(f"{r.id}  {r.title}")
        click.echo(f"级别：{SEVERITY_LABELS[r.severity]}    类别：{FAMILIES.get(r.family, r.family)}    定义：{r.module}")
        if r.explanation:
            click.echo("\n" + r.explanation)
        if r.example:
            click.echo("\n示例：" + r.example)
        click.echo("\n提示文字模板：" + r.message)
        return
    family = None
    for r in checks.rules:
        if r.family != family:
            family = r.family
            click.echo(f"\n[{family}] {FAMILIES.get(family, family)}")
        click.echo(f"  {r.id:<8}{SEVERITY_LABELS[r.severity]}  {r.title}")


@main.command("template")
@click.option("--department", metavar="NAME", help="部门名称（预填并锁定）")
@click.option("--year", type=IntRange(2000, 2100), help="被评价年度（预填并锁定）；与 --from-list 一起使用时为名单中未写年度的行的年度")
@click.option("--unit-count", type=IntRange(min=1), help="单位数（预填，可修改）")
@click.option("--from-list", "from_list", type=PathType(path_type=Path),
              help="部门名单（.csv 或 .xlsx）：每个部门生成一份预填的副本，须同时给出 -o 目录")
@click.option("-o", "--output", type=PathType(path_type=Path), help="输出文件或目录")
@click.option("--checks", "checks_dir", type=PathType(path_type=Path, file_okay=False),
              help="使用财政局自己的检查规则目录中的评分框架（framework.toml）")
def template_cmd(department, year, unit_count, from_list, output, checks_dir):
    """生成填报模板：空白模板，或预填部门和年度（锁定）的下发副本。

    \b
    xlcheck template -o template.xlsx                      空白模板
    xlcheck template --department 部门 --year 2024         生成 部门-2024.xlsx
    xlcheck template --from-list 名单.csv -o 下发/          名单中每个部门一份

    \b
    名单：CSV（UTF-8 或 GBK）或 .xlsx，第一行为表头，每行一个部门。表头可用中文或英文：
    部门名称/department（必填）、被评价年度/year（必填，或用 --year 统一指定）、
    单位数/unit_count、填报人/preparer、联系电话/preparer_phone、年初预算数/budget_initial，
    以及“基本信息”“文字说明”中其他需填写的项目（按中文名称或定义名称）。
    有误的行逐行报告（“第 3 行：…”）且不生成，其余行照常生成；有误时退出码为 1。
    """
    from .department_list import ListError, copy_name
    from .distribute import issue_from_list, make_copy
    from .errors import XlcheckError
    framework = None
    if checks_dir is not None:
        framework = checks_dir / "framework.toml"
        if not framework.is_file():
            raise click.UsageError(f"检查规则目录中没有评分框架文件：{framework}")
    if department is not None and not department.strip():
        raise click.UsageError("--department 不能为空")
    defaults = {"unit_count": unit_count} if unit_count is not None else {}
    if from_list is not None:
        if department is not None:
            raise click.UsageError("--from-list 与 --department 不能同时使用（部门名称写在名单中）")
        if output is None:
            raise click.UsageError("使用 --from-list 时须用 -o 指定输出目录")
        if output.exists() and not output.is_dir():
            raise click.UsageError(f"-o 应为目录：{output} 是一个文件")
        if not from_list.is_file():
            raise click.UsageError(f"找不到名单文件：{from_list}")
        try:
            rep = issue_from_list(from_list, output, year=year, defaults=defaults, framework=framework)
        except ListError as e:
            raise click.UsageError(str(e)) from None
        except XlcheckError as e:
            raise click.ClickException(str(e)) from None
        for msg in rep.notices:
            click.echo("提示：" + msg, err=True)
        for msg in rep.problems:
            click.echo(msg, err=True)
        click.echo(f"已生成 {len(rep.written)} 份，保存在 {output}"
                   + (f"；{len(rep.problems)} 处有误，有误的行未生成（见上）" if rep.problems else ""))
        sys.exit(EXIT_OK if rep.ok else EXIT_FAIL)
    if output is None:
        output = Path(copy_name(department, year))
    elif output.is_dir() or str(output).endswith(("/", "\\")) or not output.suffix:
        output.mkdir(parents=True, exist_ok=True)
        output = output / copy_name(department, year)
    elif output.suffix.lower() != ".xlsx":
        raise click.UsageError(f"输出文件应以 .xlsx 结尾：{output}")
    if not output.parent.is_dir():
        raise click.UsageError(f"输出目录不存在：{output.parent}")
    try:
        make_copy(output, department=department, year=year, values=defaults, framework=framework)
    except XlcheckError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"已生成：{output}")


@main.group("addin")
def addin_group():
    """Excel 加载项：功能区“绩效自评 → 校验”。"""


@addin_group.command("install")
@click.option("--file", "xlam", type=PathType(path_type=Path, dir_okay=False),
              help="加载项文件（默认：随 xlcheck 提供的 xlcheck.xlam）")
def addin_install_cmd(xlam):
    """把加载项安装到 Excel（Windows / macOS），并让它使用当前的 Python。"""
    from .addin_install import install_addin
    sys.exit(install_addin(xlam, echo=lambda m: click.echo(m, err=True)))


from .serve.command import serve_cmd  # noqa: E402  (light: the service's imports happen when it runs)
main.add_command(serve_cmd)

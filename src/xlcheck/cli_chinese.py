"""Click in Chinese: usage lines, section titles, the help option, parameter types and errors.

Click's own texts are English (it has gettext hooks but ships no Chinese catalogue); every xlcheck
command uses these classes, so a clerk meets one language from `--help` to a mistyped option.
"""
from __future__ import annotations

import pathlib
import sys

import click

HELP_TEXT = "显示本帮助"
NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())     # Click 8.2+


class ChineseCommand(click.Command):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", "[选项]")
        super().__init__(*args, **kwargs)

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = HELP_TEXT
        return option

    def format_usage(self, ctx, formatter):
        formatter.write_usage(ctx.command_path, " ".join(self.collect_usage_pieces(ctx)), prefix="用法：")

    def format_options(self, ctx, formatter):
        records = [r for p in self.get_params(ctx) if isinstance(p, click.Option) and (r := p.get_help_record(ctx))]
        if records:
            with formatter.section("选项"):
                formatter.write_dl(records)


class ChineseGroup(ChineseCommand, click.Group):
    command_class = ChineseCommand

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("subcommand_metavar", "命令 [参数]…")
        super().__init__(*args, **kwargs)

    def format_commands(self, ctx, formatter):
        rows = [(name, cmd.get_short_help_str(limit=60)) for name in self.list_commands(ctx)
                if (cmd := self.get_command(ctx, name)) is not None and not cmd.hidden]
        if rows:
            with formatter.section("命令"):
                formatter.write_dl(rows)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except NO_ARGS_IS_HELP as e:      # `xlcheck addin` alone: its help, as Click prints it
            click.echo(e.ctx.get_help(), err=True)
            sys.exit(e.exit_code)
        except click.UsageError as e:
            if e.ctx is not None:
                click.echo(e.ctx.get_usage(), err=True)
            click.echo(f"错误：{error_text(e)}", err=True)
            if e.ctx is not None:
                click.echo(f"（{e.ctx.command_path} --help 查看全部选项）", err=True)
            sys.exit(e.exit_code)
        except click.ClickException as e:
            click.echo(f"错误：{error_text(e)}", err=True)
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo("已取消。", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


ChineseGroup.group_class = ChineseGroup       # subgroups too (not a subclass such as the main group)


def error_text(e: click.ClickException) -> str:
    """A usage error as a sentence in Chinese (Click's own messages are English)."""
    if isinstance(e, click.MissingParameter):
        if e.param_type == "argument" and e.param is not None:
            return f"缺少参数 {e.param.human_readable_name}"
        return f"缺少选项 {e.param_hint or (e.param.get_error_hint(e.ctx) if e.param is not None and e.ctx else '')}"
    if isinstance(e, click.NoSuchOption):
        hint = f"（是否想用 {'、'.join(sorted(e.possibilities))}？）" if e.possibilities else ""
        return f"没有选项 {e.option_name}{hint}"
    if isinstance(e, click.BadOptionUsage):
        if "does not take a value" in e.message:
            return f"选项 {e.option_name} 不带值"
        return f"选项 {e.option_name} 后面须给出值"
    if isinstance(e, click.BadParameter):
        if e.param is None:
            return e.message
        what = f"参数 {e.param.human_readable_name}" if e.param.param_type_name == "argument" \
            else f"选项 {'/'.join(e.param.opts)}"
        return f"{what} 的值无效：{e.message}"
    if isinstance(e, click.UsageError):
        # the two of Click's own usage errors met here, known by their fixed English wording
        if e.message.startswith("Got unexpected extra argument"):
            return "多余的参数：" + e.message.partition("(")[2].rstrip(")")
        if e.message.startswith("No such command"):
            return "没有这个命令：" + e.message.partition("'")[2].rstrip("'.")
    return e.format_message()


def is_help_option(param, ctx) -> bool:
    return isinstance(param, click.Option) and bool(set(param.opts) & set(ctx.help_option_names))


# the types say in Chinese what is wrong; their metavars stay ASCII (N, DIR…) so --help's columns align

class _InChinese:
    """convert() as Click's type does it, but a rejected value is described by `problem` in Chinese."""

    def convert(self, value, param, ctx):
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            self.fail(self.problem(value), param, ctx)


class IntRange(_InChinese, click.IntRange):
    name = "n"

    def problem(self, value) -> str:
        return f"须为整数，范围 {self._describe_range()}；给出的是“{value}”"


class FloatRange(_InChinese, click.FloatRange):
    name = "x"

    def problem(self, value) -> str:
        return f"须为数字，范围 {self._describe_range()}；给出的是“{value}”"


class Choice(_InChinese, click.Choice):
    def problem(self, value) -> str:
        return f"“{value}”不是可选的值（{'、'.join(map(str, self.choices))}）"


class Path(_InChinese, click.Path):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.name = "file" if not self.dir_okay else "dir" if not self.file_okay else "path"

    def problem(self, value) -> str:
        p = pathlib.Path(value)
        if not p.exists():
            return f"找不到：{value}"
        if p.is_dir() and not self.dir_okay:
            return f"应为文件：{value} 是文件夹"
        if not p.is_dir() and not self.file_okay:
            return f"应为文件夹：{value} 是文件"
        return f"无法访问：{value}"

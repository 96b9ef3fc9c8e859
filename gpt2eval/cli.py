"""The `gpt2eval` command line: thin click commands over the engine."""
from __future__ import annotations

import click

from gpt2eval.commands.cache import cache
from gpt2eval.commands.figures import plot, sweep_stride
from gpt2eval.commands.overlap import overlap
from gpt2eval.commands.report import compare, report, table
from gpt2eval.commands.reproduce import download, reproduce
from gpt2eval.commands.run import detok_check, list_tasks, run
from gpt2eval.commands.sensitivity import sensitivity
from gpt2eval.errors import UsageError


class Group(click.Group):
    """Any bad input ends as one line on stderr and exit code 2, never a traceback; Ctrl-C
    exits 130, the shell's convention (results already written stay)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UsageError as e:
            click.echo(f"error: {e}", err=True)
            ctx.exit(2)
        except click.UsageError as e:
            hint = f" (see `{e.ctx.command_path} --help`)" if e.ctx else ""
            click.echo(f"error: {e.format_message()}{hint}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("\ninterrupted (Ctrl-C): results written so far are kept", err=True)
            ctx.exit(130)


@click.group(cls=Group)
@click.version_option(package_name="gpt2eval")
def main():
    """Zero-shot language-modeling evaluation, reproducing Table 3 of the GPT-2 paper."""


for command in (run, detok_check, list_tasks, table, compare, plot, sweep_stride, download, reproduce, sensitivity):
    main.add_command(command)
main.add_command(overlap)  # gpt2eval/commands/overlap.py
main.add_command(cache)
main.add_command(report)  # gpt2eval/commands/report.py

"""The `gpt2eval` command line: thin click commands over the engine."""
from __future__ import annotations

import signal

import click

from gpt2eval.commands.cache import cache
from gpt2eval.commands.figures import plot, sweep_stride
from gpt2eval.commands.overlap import overlap
from gpt2eval.commands.report import compare, report, table
from gpt2eval.commands.reproduce import download, reproduce
from gpt2eval.commands.run import detok_check, list_tasks, run
from gpt2eval.commands.sensitivity import sensitivity
from gpt2eval.errors import UsageError


class Terminated(KeyboardInterrupt):
    """SIGTERM (what SLURM and Kubernetes send before they kill a job), handled as Ctrl-C is."""


def _terminate(signum, frame):
    raise Terminated()


class Group(click.Group):
    """Any bad input ends as one line on stderr and exit code 2, never a traceback; Ctrl-C
    exits 130 and SIGTERM 143, the shell's conventions (results already written stay, and
    the message says how to resume)."""

    def invoke(self, ctx):
        from gpt2eval.engine.store import opened

        opened(reset=True)  # in-process callers (tests) run many commands
        try:
            previous = signal.signal(signal.SIGTERM, _terminate)
        except ValueError:  # not the main thread (an embedding caller): keep its handler
            previous = None
        try:
            return super().invoke(ctx)
        except UsageError as e:
            click.echo(f"error: {e}", err=True)
            ctx.exit(2)
        except click.UsageError as e:
            hint = f" (see `{e.ctx.command_path} --help`)" if e.ctx else ""
            click.echo(f"error: {e.format_message()}{hint}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt as e:
            terminated = isinstance(e, Terminated)
            click.echo("\n" + interrupted(terminated), err=True)
            ctx.exit(143 if terminated else 130)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)


def interrupted(terminated: bool) -> str:
    """What an interrupted run keeps, and how to resume it."""
    from gpt2eval.engine.store import opened

    what = "terminated (SIGTERM)" if terminated else "interrupted (Ctrl-C)"
    stores = opened()
    if not stores:
        return f"{what}: results written so far are kept"
    return (f"{what}: results written so far are kept, and finished work units are in the work-unit store "
            f"{', '.join(map(str, stores))}: rerun the same command to resume from there")


@click.group(cls=Group)
@click.version_option(package_name="gpt2eval")
def main():
    """Zero-shot language-modeling evaluation, reproducing Table 3 of the GPT-2 paper."""


for command in (run, detok_check, list_tasks, table, compare, plot, sweep_stride, download, reproduce, sensitivity):
    main.add_command(command)
main.add_command(overlap)  # gpt2eval/commands/overlap.py
main.add_command(cache)
main.add_command(report)  # gpt2eval/commands/report.py

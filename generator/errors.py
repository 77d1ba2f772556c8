"""The small exception hierarchy every command turns into a message and an exit code.

Each class says who raises it. They subclass `click.ClickException` so the CLI
prints them without a traceback; nothing below the CLI prints on its own.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from generator.diagnostics import Diagnostic


class CatalogError(click.ClickException):
    """Base of every error the user can fix; exit code 1."""

    exit_code = 1


class SourceInvalid(CatalogError):
    """Raised by loading and validation when the source has errors; carries all of them."""

    def __init__(self, diagnostics: list[Diagnostic], summary: str) -> None:
        self.diagnostics = diagnostics
        self.show_warnings = False
        """Set by the CLI for --verbose: by default the errors are not buried under the warnings."""
        super().__init__(summary)

    def format_message(self) -> str:
        shown = [d for d in self.diagnostics if self.show_warnings or d.severity == "error"]
        hidden = len(self.diagnostics) - len(shown)
        hint = f" (--verbose also lists the {hidden} warning(s))" if hidden else ""
        return "\n".join([*(d.format() for d in shown), self.message + hint])

    def show(self, file=None) -> None:  # type: ignore[no-untyped-def]
        # click prefixes "Error: " to the first line only; the diagnostics must
        # stay one `path:line: field: message` per line for editors to jump to.
        click.echo(self.format_message(), file=file, err=True)


class OutputError(CatalogError):
    """Raised by the output layer: unsafe output directory, colliding paths, write failures."""


class LimitExceeded(OutputError):
    """Raised by a renderer whose output would pass a limit of what reads it (the registry server's
    `maxMetaSize`, the API server's CEL and object sizes). The build answers it by validating the
    source with every such limit measured, so the user sees each problem on its line, all at once."""


class UsageError(CatalogError):
    """Raised by commands for options that do not fit together or targets that do not exist."""


def os_error(error: OSError, what: str, path: object, fix: str) -> OutputError:
    """`<what> <path>: <reason>: <what to do>` for an error the operating system reported.

    The path is the one the system names when it names one (the file that could not be
    written), else `path`. The advice depends on the reason: space, a read-only mount or
    permissions are fixed by the user, not by choosing another option.
    """
    where = error.filename if error.filename is not None else path
    return OutputError(f"{what} {where}: {error.strerror or error}: {os_advice(error, fix)}")


def os_advice(error: OSError, fix: str) -> str:
    """What to do about `error`: the user's own fix for space, a read-only mount or permissions, else `fix`."""
    return {
        errno.ENOSPC: f"free space on that disk, or {fix}",
        errno.EDQUOT: f"free space within your disk quota, or {fix}",
        errno.EFBIG: f"a limit on the size of one file (`ulimit -f`, the file system's) refuses it: lift it, or {fix}",
        errno.EROFS: f"it is on a read-only file system: {fix}",
        errno.EACCES: f"give the user running mcp-catalog access to it, or {fix}",
        errno.EPERM: f"give the user running mcp-catalog access to it, or {fix}",
    }.get(error.errno or 0, fix)


@contextlib.contextmanager
def os_errors(what: str, path: object, fix: str) -> Iterator[None]:
    """Turn an OSError raised inside into an `OutputError` (see `os_error`)."""
    try:
        yield
    except OSError as error:
        raise os_error(error, what, path, fix) from None

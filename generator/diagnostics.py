"""Diagnostics: one problem in the source, located by file, line and field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Diagnostic:
    """A problem found in the source; `line` is 1-based, 0 when the whole file is meant."""

    path: str
    line: int
    field: str
    message: str
    severity: Severity = "error"

    def format(self) -> str:
        """`path:line: field: message`, the form editors and CI annotations understand."""
        where = f"{self.path}:{self.line}" if self.line else self.path
        prefix = "warning: " if self.severity == "warning" else ""
        field = f"{self.field}: " if self.field else ""
        return f"{where}: {field}{prefix}{self.message}"

    def as_error(self) -> Diagnostic:
        """The same finding promoted to an error (for --strict)."""
        return Diagnostic(self.path, self.line, self.field, self.message, "error")


def dotted_path(path: tuple[str | int, ...]) -> str:
    """("tools", 2, "name") -> "tools[2].name", the form used in messages.

    A key is source text: any character of it that does not print (a control, a bidirectional
    control, an invisible one) is shown as `\\uXXXX`, never sent to the terminal raw.
    """
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{shown(part)}" if text else shown(str(part)))
    return text


def shown(text: str) -> str:
    """`text` with every character that does not print as itself (but the space) written `\\uXXXX`."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}" for c in text)

"""Which characters no source value may hold, and how a message names them.

Shared by the YAML reader (`source/yamlsafe.py`, which refuses them as it reads a file) and the
models (`models.py`, which refuse them in values an importer builds from JSON), so that neither
depends on the other. It knows nothing of YAML, models or the catalog; it only looks at strings.
"""

from __future__ import annotations

import re

# Control characters (C0 but tab and line feed, DEL, C1) and the Unicode line and paragraph
# separators, refused in every value: they move a terminal's cursor, end a line of a shell command
# or a list file, or hide text (U+0085 is a line break to some readers). A value of a plain text can
# hold one only from a double-quoted scalar's escape (`"\u001b"`) or a raw separator; the YAML
# reader refuses the other raw ones (as "invalid YAML").
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
KEY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""`CONTROL` for a mapping's key: a key is a name, so no tab or line break either."""


def control_characters(text: str, pattern: re.Pattern[str] = CONTROL) -> str | None:
    """Why `text` may not be a value (the control characters it holds, shown escaped), or None."""
    found = sorted(set(pattern.findall(text)))
    if not found:
        return None
    shown = ", ".join(f"\\u{ord(c):04x}" for c in found)
    separators = sum(c in "\u2028\u2029" for c in found)
    kinds = [f"{count} {kind}{'s' if count > 1 else ''}" for count, kind in
             ((len(found) - separators, "control character"), (separators, "line separator")) if count]
    return f"holds {shown} ({' and '.join(kinds)}): remove it"

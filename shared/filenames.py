"""What a published file may be called (shown to managers, used in downloads)."""
from __future__ import annotations

import unicodedata

from shared.errors import InvalidInput

MAX_LENGTH = 255
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def clean_filename(value) -> str:
    """The name as given, NFC-normalised, or InvalidInput saying what is wrong.

    No path parts, no control or invisible formatting characters (a right-to-left
    override can disguise 'fdp.exe' as 'exe.pdf'), at most 255 characters.
    """
    if not isinstance(value, str):
        raise InvalidInput("the file has no name", field="name")
    name = unicodedata.normalize("NFC", value).strip()
    if not name:
        raise InvalidInput("the file name is empty", field="name")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise InvalidInput("the file name must not contain a path (no '/' or '\\')", field="name")
    if any(unicodedata.category(char) in _FORBIDDEN_CATEGORIES for char in name):
        raise InvalidInput("the file name contains control or invisible characters", field="name")
    if len(name) > MAX_LENGTH:
        raise InvalidInput(f"the file name is longer than {MAX_LENGTH} characters", field="name")
    return name

"""Message templates: `"Hi {first_name}, your cart is waiting"` rendered from a record's fields.

Placeholders are plain field names only (no attribute access, indexing or positional fields),
checked when the destination is built; a record that lacks a field the template uses is
rejected with the field's name, never rendered half-empty.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from typing import Any

from reverse_etl.destinations.base import ConfigurationError

FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class MissingFields(Exception):
    """The record lacks fields the template needs (names them; never the values)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


def _identity(text: str) -> str:
    return text


class MessageTemplate:
    def __init__(self, template: Any, setting: str) -> None:
        if not isinstance(template, str) or not template.strip():
            raise ConfigurationError(f"setting '{setting}' (the message template) is missing")
        names: list[str] = []
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError:
            raise ConfigurationError(f"setting '{setting}': unbalanced braces") from None
        for _literal, name, spec, conversion in parsed:
            if name is None:
                continue
            if not FIELD.match(name):
                raise ConfigurationError(
                    f"setting '{setting}': placeholder {{{name}}} must be a plain field name"
                )
            if conversion or (spec and "{" in spec):
                raise ConfigurationError(
                    f"setting '{setting}': placeholder {{{name}}} may not convert or nest"
                )
            if name not in names:
                names.append(name)
        try:
            template.format_map(dict.fromkeys(names, "x"))
        except (ValueError, KeyError, IndexError):
            raise ConfigurationError(
                f"setting '{setting}': a format specification does not apply to text"
            ) from None
        self.template = template
        self.fields = tuple(names)

    def render(self, fields: Mapping[str, Any], escape: Callable[[str], str] = _identity) -> str:
        missing = [name for name in self.fields if fields.get(name) in (None, "")]
        if missing:
            raise MissingFields(missing)
        return self.template.format_map({name: escape(str(fields[name])) for name in self.fields})

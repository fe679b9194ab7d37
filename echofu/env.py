"""Settings read from environment variables, for the settings module and gunicorn's config alike.

A value that cannot be read stops the process with the variable named, instead of a bare
traceback or, for a switch, a typo read as "off"."""
from __future__ import annotations

import os


class SettingError(ValueError):
    """An environment variable holds a value the studio cannot read; the message names it."""


BOOLEAN_WORDS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _boolean(value: str) -> bool:
    try:
        return BOOLEAN_WORDS[value.lower()]
    except KeyError:
        raise ValueError(value) from None


def _parsed(name: str, default, parse, expected: str):
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return parse(value)
    except ValueError:
        raise SettingError(f"{name}={value!r} is not {expected}") from None


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_int(name: str, default: int) -> int:
    return _parsed(name, default, int, "a whole number")


def env_float(name: str, default: float) -> float:
    return _parsed(name, default, float, "a number")


def env_bool(name: str, default: bool) -> bool:
    return _parsed(name, default, _boolean, "true or false (1/0, yes/no, on/off)")


def env_choice(name: str, default: str, choices: list[str]) -> str:
    def chosen(value: str) -> str:
        if value not in choices:
            raise ValueError(value)
        return value

    return _parsed(name, default, chosen, "one of " + ", ".join(choices))


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name, "").strip()
    return [item.strip() for item in value.split(",") if item.strip()] if value else default

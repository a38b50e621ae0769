"""Every user-facing text in English and Japanese, by message id.

Renderers ask for a message by id with its parameters (``text("ja", "verdict.fail")``); findings
carry a message id and parameters beside their English title, so any output can be written in
either language. English is the default of the command line; ``--lang ja`` or a Japanese locale
(``LANG=ja_JP.UTF-8``) selects Japanese. The Japanese texts are written in the register of an
audit document (「〜であること」) and cite the policy by its own clause numbers.
"""

from __future__ import annotations

import os
from typing import Mapping, Union

from .en import MESSAGES as EN
from .ja import MESSAGES as JA

LANGS = ("en", "ja")
_CATALOGUES: dict[str, Mapping[str, str]] = {"en": EN, "ja": JA}


def catalogue(lang: str) -> Mapping[str, str]:
    if lang not in _CATALOGUES:
        raise ValueError(f"language must be one of {', '.join(LANGS)}, not {lang!r}")
    return _CATALOGUES[lang]


def text(lang: str, key: str, **params: object) -> str:
    """The message ``key`` in ``lang`` with ``params`` filled in (str.format fields)."""
    template = catalogue(lang)[key]
    return template.format(**params) if params else template


def language_from_environment(environ: Mapping[str, str] | None = None) -> str:
    """``ja`` when the locale is Japanese (LC_ALL, LC_MESSAGES, LANG, in POSIX order), else ``en``."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


Param = Union[str, int, "Message", tuple["Param", ...]]


class Message(str):
    """A text that is its English rendering (so every str use keeps working) and also knows its
    message id and parameters, so that any renderer can write it in another language.

    Parameters may be plain values (names, addresses: never translated), other Messages, or tuples
    of them (joined with the language's list separator)."""

    key: str
    params: tuple[tuple[str, Param], ...]

    def __new__(cls, key: str, params: Mapping[str, Param] | None = None) -> Message:
        items = tuple(sorted((params or {}).items()))
        obj = super().__new__(cls, _render("en", key, items))
        obj.key = key
        obj.params = items
        return obj

    def __reduce__(self) -> tuple[object, ...]:  # pickles across worker processes (whatif -j)
        return (Message, (self.key, dict(self.params)))

    def render(self, lang: str) -> str:
        return _render(lang, self.key, self.params)


class Joined(tuple):  # type: ignore[type-arg,unused-ignore]
    """Values joined by the separator message ``sep`` of the language it is rendered in."""

    sep: str

    def __new__(cls, values: tuple[Param, ...], sep: str = "list.sep") -> Joined:
        obj = super().__new__(cls, values)
        obj.sep = sep
        return obj

    def __reduce__(self) -> tuple[object, ...]:
        return (Joined, (tuple(self), self.sep))


def joined(values: object, sep: str = "list.sep") -> Joined:
    return Joined(tuple(values), sep)  # type: ignore[arg-type]


def _value(lang: str, value: Param) -> str:
    if isinstance(value, Message):
        return value.render(lang)
    if isinstance(value, tuple):
        sep = value.sep if isinstance(value, Joined) else "list.sep"
        return catalogue(lang)[sep].join(_value(lang, v) for v in value)
    return str(value)


def _render(lang: str, key: str, params: tuple[tuple[str, Param], ...]) -> str:
    template = catalogue(lang)[key]
    return template.format(**{k: _value(lang, v) for k, v in params}) if params else template


def m(key: str, **params: Param) -> Message:
    """The message ``key`` with ``params``: an English str that renders in any language."""
    return Message(key, params)


def localize(value: object, lang: str) -> str:
    """``value`` in ``lang`` when it is a Message, else as it is (user data is never translated)."""
    return value.render(lang) if isinstance(value, Message) else str(value)


def to_data(value: Param) -> object:
    """A Message (or a parameter of one) as plain JSON data, to be kept and rendered later."""
    if isinstance(value, Message):
        return {"m": value.key, "p": {k: to_data(v) for k, v in value.params}}
    if isinstance(value, tuple):
        return {"j": [to_data(v) for v in value], "sep": value.sep if isinstance(value, Joined) else "list.sep"}
    return value


def from_data(data: object) -> Param:
    """The inverse of :func:`to_data`; a message id this version does not know is a ValueError."""
    if isinstance(data, dict) and "m" in data:
        if str(data["m"]) not in EN:
            raise ValueError(f"unknown message id {data['m']!r}")
        return Message(str(data["m"]), {str(k): from_data(v) for k, v in dict(data.get("p", {})).items()})
    if isinstance(data, dict) and "j" in data:
        return Joined(tuple(from_data(v) for v in list(data["j"])), str(data.get("sep", "list.sep")))
    if isinstance(data, (str, int)):
        return data
    raise ValueError(f"not message data: {data!r}")

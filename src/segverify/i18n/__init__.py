"""Every user-facing text in English and Japanese, by message id.

Renderers ask for a message by id with its parameters (``text("ja", "verdict.fail")``); findings
carry a message id and parameters beside their English title, so any output can be written in
either language. English is the default of the command line; ``--lang ja`` or a Japanese locale
(``LANG=ja_JP.UTF-8``) selects Japanese. The Japanese texts are written in the register of an
audit document (「〜であること」) and cite the policy by its own clause numbers.
"""

from __future__ import annotations

import os
from typing import Mapping

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

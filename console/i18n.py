"""The console's words: gettext catalogues (English msgids, `locale/fr/LC_MESSAGES/messages.po`) read with Babel.

The .po is compiled in memory when first asked for (no .mo is kept or built). Python code takes a
`Words` for the officer's language; templates call `_()`/`ngettext()` (jinja2.ext.i18n, new style),
which find the page's catalogue in the render context (`install`), so one shared Jinja environment
serves every language at once. Edit the catalogue with `scripts/translations.sh`.
"""

from __future__ import annotations

from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

LANGUAGES = ("en", "fr")
LOCALES = {"en": "en_CA", "fr": "fr_CA"}
LOCALE_DIR = Path(__file__).parent / "locale"
CONTEXT_KEY = "translations"  # the render context's catalogue, read by the template's _() and ngettext()


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


@cache
def translations(language: str) -> Translations:
    """The catalogue of a language, compiled from its .po once; English (the msgids) is an empty catalogue."""
    path = catalogue_path(language)
    if language not in LANGUAGES or language == "en" or not path.exists():
        return Translations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=LOCALES[language])
    compiled = BytesIO()
    write_mo(compiled, catalog)  # fuzzy entries are left out: a guess is never shown
    compiled.seek(0)
    return Translations(fp=compiled)


class Words:
    """gettext and ngettext for one language, formatting as the templates' new-style gettext does:
    `words.gettext("%(reference)s released.", reference=ref)`, `words.ngettext("%(num)d error", "%(num)d errors", n)`."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else "en"
        self.catalogue = translations(self.language)

    def gettext(self, message: str, /, **values: Any) -> str:
        return self.catalogue.gettext(message) % values

    def ngettext(self, singular: str, plural: str, num: int, /, **values: Any) -> str:
        return self.catalogue.ngettext(singular, plural, num) % {"num": num, **values}


@cache
def words(language: str) -> Words:
    return Words(language)


@pass_context
def _context_gettext(context: Context, message: str) -> str:
    return _catalogue_of(context).gettext(message)


@pass_context
def _context_ngettext(context: Context, singular: str, plural: str, num: int) -> str:
    return _catalogue_of(context).ngettext(singular, plural, num)


def _catalogue_of(context: Context) -> Translations:
    """The page's catalogue; a context without one (a macro imported without context) speaks English, the msgids."""
    catalogue = context.get(CONTEXT_KEY)
    return catalogue if isinstance(catalogue, Translations) else translations("en")


def install(environment: Environment) -> None:
    """_(), gettext() and ngettext() in templates, new style (`_("%(count)s of %(total)s", count=1, total=2)`),
    each reading the catalogue the page was rendered with (`render_context(language)`), never a global one."""
    environment.add_extension("jinja2.ext.i18n")
    environment.install_gettext_callables(_context_gettext, _context_ngettext, newstyle=True)  # type: ignore[attr-defined]


def render_context(language: str) -> dict[str, Any]:
    """What a page's context needs for its words to be in `language`."""
    return {CONTEXT_KEY: translations(language if language in LANGUAGES else "en")}

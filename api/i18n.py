"""Languages: which one an answer speaks, and the gettext catalogues it speaks from.

The locale is ``?lang=`` when it names a shipped language, else the best match of
``Accept-Language``, else ``CHEMTRACE_DEFAULT_LOCALE`` (``en``). The languages are the
catalogues under ``api/translations``: adding a language is adding a catalogue (README).
An answer that was localised says so with ``Content-Language`` and ``Vary: Accept-Language``;
machine-readable fields (codes, enum values, field names, signed claims) never change with it.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from flask import Flask, Response, current_app, g, request
from flask_babel import Babel, gettext

from registry.errors import Message

log = logging.getLogger(__name__)

TRANSLATIONS = Path(__file__).parent / "translations"
SOURCE_LOCALE = "en"  # the language of the message ids

babel = Babel()


@cache
def available_locales() -> tuple[str, ...]:
    """Every language with a catalogue, the source language first."""
    shipped = {p.parent.parent.name for p in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")}
    return (SOURCE_LOCALE, *sorted(shipped - {SOURCE_LOCALE}))


def select_locale() -> str:
    """The locale of this request, chosen once and kept on ``g``."""
    locale = g.get("locale")
    if locale is None:
        locale = g.locale = _negotiate()
    return locale


def _negotiate() -> str:
    locales = available_locales()
    requested = request.args.get("lang")
    if requested in locales:
        return requested
    return request.accept_languages.best_match(locales) or current_app.config["DEFAULT_LOCALE"]


def localised(text: str) -> str:
    """``text`` in the request's language (unchanged where no catalogue has it)."""
    if not text:
        return text  # gettext("") is the catalogue's header
    if not isinstance(text, Message):
        return gettext(str(text))
    template = gettext(text.template)
    if not text.values:
        return template
    values = {k: localised(v) if isinstance(v, Message) else v for k, v in text.values.items()}
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        # A translation that lost a placeholder (tests/test_catalogues.py forbids it) must
        # not turn an error into a 500: say it in English.
        log.warning("translation of %r does not fit its values", text.template)
        return str(text)


def init_app(app: Flask) -> None:
    if app.config["DEFAULT_LOCALE"] not in available_locales():
        raise RuntimeError(
            f"CHEMTRACE_DEFAULT_LOCALE={app.config['DEFAULT_LOCALE']!r} has no catalogue; "
            f"shipped: {', '.join(available_locales())}"
        )
    app.config["BABEL_DEFAULT_LOCALE"] = app.config["DEFAULT_LOCALE"]
    babel.init_app(
        app, locale_selector=select_locale, default_translation_directories=str(TRANSLATIONS)
    )
    app.after_request(_content_language)
    app.jinja_env.filters["localised"] = localised


def _content_language(response: Response) -> Response:
    # Only an answer whose words were chosen by language says which: the locale is
    # negotiated lazily, the first time something is translated.
    locale = g.get("locale")
    if locale is not None:
        response.headers["Content-Language"] = locale
        response.vary.add("Accept-Language")
    return response

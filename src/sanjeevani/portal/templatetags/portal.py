"""Template tags for the site frame (base.html)."""

from __future__ import annotations

from functools import cache

from django import template
from django.conf import settings
from django.utils.translation import get_language_info

register = template.Library()


@cache
def translated_languages() -> tuple[tuple[str, str], ...]:
    """English plus every language this project has a compiled translation for.

    Offering a language nobody has translated would show English under another name, so
    a language appears in the switcher as soon as its ``locale/<code>/.../django.mo`` lands.
    """
    found = []
    for code, name in settings.LANGUAGES:
        has_catalogue = any(
            (path / code / "LC_MESSAGES" / "django.mo").exists() for path in settings.LOCALE_PATHS
        )
        if code == settings.LANGUAGE_CODE or has_catalogue:
            try:
                local = get_language_info(code)["name_local"]
            except KeyError:
                local = str(name)
            found.append((code, local))
    return tuple(found)


@register.simple_tag
def site_languages() -> tuple[tuple[str, str], ...]:
    """(code, name in its own script) for the language switcher."""
    return translated_languages()

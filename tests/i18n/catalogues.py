"""Which sources a patient sees, and the strings each of them marks for translation.

The strings are read from the sources themselves (Python by its syntax tree, templates through
Django's own ``templatize``, JavaScript by its ``gettext("...")`` calls), so a string added
without running ``makemessages`` is caught as surely as one left untranslated.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation.template import templatize

import sanjeevani

PACKAGE = Path(sanjeevani.__file__).resolve().parent
LOCALE_DIRS = sorted(PACKAGE.glob("**/locale/hi/LC_MESSAGES"))

#: Every source whose text reaches a patient: pages, SMS texts, error messages, the
#: prescription and its public verification page. Paths are globs under src/sanjeevani/.
PATIENT_FACING = (
    "templates/base.html",
    "templates/403.html",
    "templates/404.html",
    "templates/500.html",
    "templates/portal/*.html",
    "templates/accounts/otp*.html",
    "templates/accounts/logout.html",
    "templates/accounts/devices.html",
    "templates/patients/*.html",
    "templates/opd/_base.html",
    "templates/opd/_documents.html",
    "templates/opd/_upload_form.html",
    "templates/opd/start.html",
    "templates/opd/opd_list.html",
    "templates/opd/opd_detail.html",
    "templates/opd/waiting_room.html",
    "templates/opd/consultation.html",
    "templates/opd/history.html",
    "templates/realtime/*.html",
    "templates/prescriptions/*.html",
    "templates/limits/*.html",
    "templates/dashboard/national.html",
    "static/opd/waiting.js",
    "static/opd/consultation.js",
    "static/realtime/room.js",
    "static/realtime/device_check.js",
    "static/realtime/*.js",
    "accounts/mobile_numbers.py",
    "accounts/otp.py",
    "accounts/passwords.py",
    "accounts/staff_sign_in.py",
    "accounts/views.py",
    "accounts/models.py",
    "limits/rates.py",
    "patients/*.py",
    "portal/*.py",
    "queueing/errors.py",
    "queueing/models.py",
    "queueing/selectors.py",
    "queueing/*.py",
    "consultations/models.py",
    "consultations/assignment.py",
    "consultations/calling.py",
    "consultations/tokens.py",
    "consultations/lifecycle.py",
    "consultations/record.py",
    "consultations/identity.py",
    "consultations/feedback.py",
    "consultations/follow_up.py",
    "consultations/states.py",
    "consultations/care_team.py",
    "opd/*.py",
    "prescriptions/models.py",
    "prescriptions/rendering.py",
    "prescriptions/services.py",
    "prescriptions/views.py",
    "realtime/consumers.py",
    "realtime/services.py",
)

_PY_CALLS = {
    "_": "gettext",
    "gettext": "gettext",
    "gettext_lazy": "gettext",
    "ngettext": "ngettext",
    "ngettext_lazy": "ngettext",
    "pgettext": "pgettext",
    "pgettext_lazy": "pgettext",
    "npgettext": "npgettext",
    "npgettext_lazy": "npgettext",
}
_STRING_ARGS = {"gettext": 1, "ngettext": 2, "pgettext": 2, "npgettext": 3}
_TEMPLATE_CALL = re.compile(
    r"\b(npgettext|pgettext|ngettext|gettext)\((u?'(?:[^'\\]|\\.)*'(?:, u?'(?:[^'\\]|\\.)*')*)"
)
_JS_CALL = re.compile(r"\bgettext\(\s*\"((?:[^\"\\]|\\.)*)\"\s*\)")


@dataclass(frozen=True)
class Msg:
    """One marked string: ``context`` and ``plural`` are empty when it has none."""

    msgid: str
    context: str = ""
    plural: str = ""
    source: str = ""


def patient_facing_files() -> list[Path]:
    found: set[Path] = set()
    for pattern in PATIENT_FACING:
        matches = [p for p in PACKAGE.glob(pattern) if "migrations" not in p.parts]
        assert matches, f"{pattern} matches no file: update PATIENT_FACING"
        found.update(matches)
    return sorted(found)


def relative(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


def _from_call(kind: str, args: list[str], source: str) -> Msg:
    if kind == "gettext":
        return Msg(args[0], source=source)
    if kind == "ngettext":
        return Msg(args[0], plural=args[1], source=source)
    if kind == "pgettext":
        return Msg(args[1], context=args[0], source=source)
    return Msg(args[1], context=args[0], plural=args[2], source=source)


def python_messages(path: Path) -> list[Msg]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        kind = _PY_CALLS.get(name)
        if kind is None:
            continue
        args = node.args[: _STRING_ARGS[kind]]
        if len(args) < _STRING_ARGS[kind]:
            continue
        if all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args):
            source = f"{relative(path)}:{node.lineno}"
            found.append(_from_call(kind, [a.value for a in args], source))
    return found


def template_messages(path: Path) -> list[Msg]:
    found = []
    code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
    for lineno, line in enumerate(code.splitlines(), start=1):
        for match in _TEMPLATE_CALL.finditer(line):
            args = ast.literal_eval(f"({match.group(2)},)")
            found.append(_from_call(match.group(1), list(args), f"{relative(path)}:{lineno}"))
    return found


def javascript_messages(path: Path) -> list[Msg]:
    text = path.read_text(encoding="utf-8")
    found = []
    for match in _JS_CALL.finditer(text):
        lineno = text.count("\n", 0, match.start()) + 1
        msgid = ast.literal_eval(f'"{match.group(1)}"')
        found.append(Msg(msgid, source=f"{relative(path)}:{lineno}"))
    return found


def messages_of(path: Path) -> list[Msg]:
    if path.suffix == ".py":
        return python_messages(path)
    if path.suffix == ".js":
        return javascript_messages(path)
    return template_messages(path)

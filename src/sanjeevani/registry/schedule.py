"""The weekly schedule of an online OPD as text: ``Mon-Sat 08:00-14:00; Sun 10:00-12:00``.

One notation for the import file, the admin and the docs. Clauses are separated by ``;``;
each names days (``Mon-Sat``, ``Mon,Wed,Fri``, ``daily``) and one or more hour ranges
separated by ``,``. ``24x7`` alone means always open. Times are IST, ``24:00`` ends a day.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from .models import MINUTES_PER_DAY

DAY_CODES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY_ALIASES = {
    "mon": 0,
    "monday": 0,
    "tue": 1,
    "tues": 1,
    "tuesday": 1,
    "wed": 2,
    "wednesday": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "thursday": 3,
    "fri": 4,
    "friday": 4,
    "sat": 5,
    "saturday": 5,
    "sun": 6,
    "sunday": 6,
}
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_RANGE_SPLIT = re.compile(r"\s*[-–]\s*")


class ScheduleError(ValueError):
    """The text is not a schedule; the message says what to fix."""


@dataclass(frozen=True, order=True)
class Window:
    weekday: int
    start_minute: int
    end_minute: int


def parse_schedule(text: str) -> list[Window]:
    """Windows sorted by day and hour; raises ScheduleError naming the first problem."""
    text = (text or "").strip()
    if not text:
        raise ScheduleError(_("the schedule is empty; write e.g. 'Mon-Sat 08:00-14:00'"))
    if text.lower() in {"24x7", "24/7", "always"}:
        return [Window(day, 0, MINUTES_PER_DAY) for day in range(7)]
    windows: list[Window] = []
    for clause in filter(None, (part.strip() for part in text.split(";"))):
        days_text, _sep, hours_text = clause.partition(" ")
        hours_text = hours_text.strip()
        if not hours_text:
            raise ScheduleError(
                _("'%(clause)s' has no hours; write e.g. '%(clause)s 08:00-14:00'")
                % {"clause": clause}
            )
        days = _parse_days(days_text)
        for range_text in filter(None, (part.strip() for part in hours_text.split(","))):
            start, end = _parse_range(range_text)
            windows.extend(Window(day, start, end) for day in days)
    windows.sort()
    for earlier, later in zip(windows, windows[1:], strict=False):
        if earlier.weekday == later.weekday and later.start_minute < earlier.end_minute:
            raise ScheduleError(
                _("on %(day)s, %(later)s overlaps %(earlier)s")
                % {
                    "day": DAY_CODES[later.weekday],
                    "later": _format_range(later.start_minute, later.end_minute),
                    "earlier": _format_range(earlier.start_minute, earlier.end_minute),
                }
            )
    return windows


def format_schedule(windows: Iterable[object]) -> str:
    """The inverse of :func:`parse_schedule`, grouping consecutive days with equal hours."""
    by_day: dict[int, list[tuple[int, int]]] = {day: [] for day in range(7)}
    for window in windows:
        by_day[window.weekday].append((window.start_minute, window.end_minute))
    if all(hours == [(0, MINUTES_PER_DAY)] for hours in by_day.values()):
        return "24x7"
    clauses: list[str] = []
    day = 0
    while day < 7:
        hours = sorted(by_day[day])
        last = day
        while last + 1 < 7 and sorted(by_day[last + 1]) == hours:
            last += 1
        if hours:
            days = DAY_CODES[day] if day == last else f"{DAY_CODES[day]}-{DAY_CODES[last]}"
            clauses.append(f"{days} " + ", ".join(_format_range(s, e) for s, e in hours))
        day = last + 1
    return "; ".join(clauses)


def _parse_days(text: str) -> list[int]:
    if text.lower() in {"daily", "everyday", "all"}:
        return list(range(7))
    days: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        ends = _RANGE_SPLIT.split(part)
        if len(ends) == 1:
            days.append(_day(ends[0]))
        elif len(ends) == 2:
            first, last = _day(ends[0]), _day(ends[1])
            span = (last - first) % 7
            days.extend((first + step) % 7 for step in range(span + 1))
        else:
            raise ScheduleError(_("'%(days)s' is not a day or a range of days") % {"days": part})
    if not days:
        raise ScheduleError(_("'%(text)s' names no day") % {"text": text})
    return sorted(set(days))


def _day(text: str) -> int:
    try:
        return _DAY_ALIASES[text.strip().lower()]
    except KeyError:
        raise ScheduleError(
            _("'%(day)s' is not a weekday (use Mon, Tue, Wed, Thu, Fri, Sat, Sun)") % {"day": text}
        ) from None


def _parse_range(text: str) -> tuple[int, int]:
    ends = _RANGE_SPLIT.split(text)
    if len(ends) != 2:
        raise ScheduleError(
            _("'%(hours)s' is not a range of hours such as 08:00-14:00") % {"hours": text}
        )
    start, end = _minute(ends[0]), _minute(ends[1])
    if start >= MINUTES_PER_DAY or start >= end:
        raise ScheduleError(
            _("%(hours)s ends before it starts; split overnight hours at midnight")
            % {"hours": text}
        )
    return start, end


def _minute(text: str) -> int:
    match = _TIME.match(text.strip())
    hour, minute = (int(match[1]), int(match[2])) if match else (99, 99)
    if hour * 60 + minute > MINUTES_PER_DAY or minute > 59:
        raise ScheduleError(
            _("'%(time)s' is not a time of day (HH:MM, from 00:00 to 24:00)") % {"time": text}
        )
    return hour * 60 + minute


def _format_range(start: int, end: int) -> str:
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"

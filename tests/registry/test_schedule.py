import pytest

from sanjeevani.registry.schedule import ScheduleError, Window, format_schedule, parse_schedule


def test_parse_days_ranges_and_several_sessions():
    windows = parse_schedule("Mon-Sat 08:00-14:00; Sun 10:00-12:00")
    assert len(windows) == 7
    assert windows[0] == Window(0, 480, 840)
    assert windows[-1] == Window(6, 600, 720)
    two = parse_schedule("Mon,Wed 11:00-13:00, 15:00-17:00")
    assert two == [
        Window(0, 660, 780),
        Window(0, 900, 1020),
        Window(2, 660, 780),
        Window(2, 900, 1020),
    ]


def test_always_open_and_wrapping_day_ranges():
    assert parse_schedule("24x7") == [Window(d, 0, 1440) for d in range(7)]
    assert [w.weekday for w in parse_schedule("Sat-Mon 09:00-10:00")] == [0, 5, 6]
    assert len(parse_schedule("daily 00:00-24:00")) == 7


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("Mon-Sat", "has no hours"),
        ("Mnday 08:00-10:00", "'Mnday' is not a weekday"),
        ("Mon 14:00-08:00", "ends before it starts"),
        ("Mon 25:00-26:00", "'25:00' is not a time of day"),
        ("Mon 08:00-12:00; Mon 11:00-13:00", "overlaps"),
        ("Mon 8-12", "is not a time of day"),
    ],
)
def test_bad_schedules_say_what_to_fix(text, problem):
    with pytest.raises(ScheduleError, match=problem):
        parse_schedule(text)


@pytest.mark.parametrize(
    "text",
    [
        "Mon-Sat 08:00-14:00; Sun 10:00-12:00",
        "Mon-Fri 11:00-13:00, 15:00-17:00",
        "24x7",
        "Wed 09:30-10:45",
    ],
)
def test_format_is_the_inverse_of_parse(text):
    assert format_schedule(parse_schedule(text)) == text

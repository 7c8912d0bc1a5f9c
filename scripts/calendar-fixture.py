#!/usr/bin/env python3
"""Writes tests/fixtures/calendar-chinesecalendar.json: the working-day
exceptions for 2019-2026 according to the PyPI package `chinesecalendar`
(an independent, widely used transcription of the same State Council
notices), to check src/deadline/calendar-cn.toml against.

    pip install chinesecalendar==1.11.0 && scripts/calendar-fixture.py
"""
import datetime
import json
import pathlib

import chinese_calendar

out = {"source": "chinesecalendar==1.11.0 (PyPI)", "years": {}}
for year in range(2019, 2027):
    day = datetime.date(year, 1, 1)
    off_weekdays, working_weekends = [], []
    while day.year == year:
        working = chinese_calendar.is_workday(day)
        if day.weekday() < 5 and not working:
            off_weekdays.append(day.isoformat())
        if day.weekday() >= 5 and working:
            working_weekends.append(day.isoformat())
        day += datetime.timedelta(days=1)
    out["years"][str(year)] = {"weekdays_off": off_weekdays, "weekend_workdays": working_weekends}

path = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "calendar-chinesecalendar.json"
path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
print(path)

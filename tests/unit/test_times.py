import datetime as dt

from vrelab.times import iso_utc, parse_iso


def test_every_kind_of_moment_is_written_in_utc_with_a_z():
    aware = dt.datetime(2026, 12, 4, 22, 35, 41, 123456, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert iso_utc(aware) == "2026-12-04T21:35:41.123Z"
    assert iso_utc(dt.datetime(2026, 12, 4, 21, 35, 41)) == "2026-12-04T21:35:41.000Z"  # naive = UTC
    assert iso_utc(0.5, timespec="seconds") == "1970-01-01T00:00:00Z"
    now = parse_iso(iso_utc())
    assert now is not None and abs((dt.datetime.now(dt.UTC) - now).total_seconds()) < 60


def test_engine_times_parse_and_non_times_do_not():
    assert parse_iso("2026-12-04T21:35:41.123456789Z") == dt.datetime(2026, 12, 4, 21, 35, 41, 123456, tzinfo=dt.UTC)
    assert parse_iso("2026-12-04T22:35:41+01:00") == dt.datetime(2026, 12, 4, 21, 35, 41, tzinfo=dt.UTC)
    assert parse_iso("0001-01-01T00:00:00Z") is None
    assert parse_iso("yesterday") is None and parse_iso(None) is None and parse_iso("") is None
    assert parse_iso(iso_utc(1_700_000_000.25)) == dt.datetime.fromtimestamp(1_700_000_000.25, dt.UTC)

"""The rate-limit counter: rows that match, within the window, up to the limit."""
from datetime import datetime, timedelta, timezone

from services.auth.models import LoginFailure
from services.auth.rate_window import reached

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc)
WINDOW = timedelta(minutes=15)


def test_only_matching_rows_within_the_window_count_towards_the_limit(open_session):
    db = open_session("auth")
    for minutes in (1, 14, 15, 60):  # 15 minutes ago is outside: the window is (now - 15 min, now]
        db.add(LoginFailure(scope="address", key="192.0.2.7", at=NOW - timedelta(minutes=minutes)))
    db.add(LoginFailure(scope="address", key="192.0.2.8", at=NOW))
    db.commit()
    assert reached(db, LoginFailure.at, limit=2, window=WINDOW, now=NOW, scope="address", key="192.0.2.7")
    assert not reached(db, LoginFailure.at, limit=3, window=WINDOW, now=NOW, scope="address", key="192.0.2.7")
    assert not reached(db, LoginFailure.at, limit=2, window=WINDOW, now=NOW, scope="address", key="192.0.2.8")

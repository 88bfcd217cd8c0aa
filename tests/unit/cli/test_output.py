"""What the operator reads: the same words, sizes and last day as the portal and the e-mails."""
from datetime import datetime, timezone

from cli import output

NOW = datetime(2026, 12, 20, 9, 0, tzinfo=timezone.utc)


def listed(**overrides):
    file = {"id": "f1", "name": "mededeling.pdf", "kind": "adhoc", "size": 23, "published_at": "2026-11-26T09:30:00+00:00",
            "expires_at": "2026-12-25T23:00:00+00:00", "first_downloaded_at": None, "deleted_at": None,
            "deleted_reason": None}
    return {**file, **overrides}


def test_the_files_table_names_the_kind_and_the_last_day(capsys):
    output.files_table([listed(), listed(id="f2", name="correcties.csv", kind="periodic", size=999_999)], now=NOW)
    header, first, second = capsys.readouterr().out.splitlines()
    assert header.split() == ["ID", "NAME", "KIND", "SIZE", "PUBLISHED", "AVAILABLE", "THROUGH", "E-MAILED",
                              "DOWNLOADED", "REMINDED", "STATUS"]
    assert first.split() == ["f1", "mededeling.pdf", "ad-hoc", "communicatie", "23", "B", "26-11-2026", "25-12-2026",
                             "-", "-", "-", "new"]
    assert "periodiek bestand" in second and "1,00 MB" in second


def test_an_expired_file_not_yet_removed_says_so(capsys):
    output.files_table([listed()], now=datetime(2026, 12, 25, 23, 0, tzinfo=timezone.utc))
    assert "expired (unreachable; the next retention run removes it)" in capsys.readouterr().out


def test_publishing_prints_kind_size_and_last_day(capsys):
    output.published({"id": "f1", "name": "mededeling.pdf", "size": 1_250_000, "sha256": "a" * 64,
                      "expires_at": "2026-12-25T23:00:00+00:00"}, "adhoc")
    assert capsys.readouterr().out.splitlines() == [
        f"published mededeling.pdf (ad-hoc communicatie, 1,25 MB, sha256 {'a' * 64})",
        "available through 25-12-2026",
    ]

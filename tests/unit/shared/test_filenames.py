import pytest

from shared.errors import InvalidInput
from shared.filenames import clean_filename


@pytest.mark.parametrize("name", ["correcties-2026-10.csv", "Mededeling één.pdf", "a" * 255, "x y (2).xlsx"])
def test_ordinary_names_are_kept(name):
    assert clean_filename(name) == name


@pytest.mark.parametrize(
    "name, complaint",
    [
        ("../etc/passwd", "path"),
        ("dir/file.csv", "path"),
        ("C:\\temp\\file.csv", "path"),
        ("..", "path"),
        ("bad\x00name.csv", "control"),
        ("line\nbreak.csv", "control"),
        ("invoice\u202egpj.exe", "control"),  # right-to-left override
        ("a" * 300, "longer than 255"),
        ("   ", "empty"),
        ("", "empty"),
        (None, "no name"),
    ],
)
def test_dangerous_names_are_refused_with_a_reason(name, complaint):
    with pytest.raises(InvalidInput, match=complaint):
        clean_filename(name)

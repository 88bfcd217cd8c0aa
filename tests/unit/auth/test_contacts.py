import pytest

from services.auth import contacts
from shared.errors import InvalidInput


@pytest.mark.parametrize(
    "given",
    ["0470 12 34 56", "0470123456", "0470/12.34.56", "+32 470 12 34 56", "+32470123456", "0032 470 12 34 56",
     " 0470-12-34-56 "],
)
def test_belgian_mobiles_in_every_usual_notation(given):
    assert contacts.gsm(given) == "+32470123456"


def test_foreign_mobiles_are_accepted_in_international_form():
    assert contacts.gsm("+31 6 12345678") == "+31612345678"


@pytest.mark.parametrize(
    "given, complaint",
    [
        ("09 234 56 78", "not a mobile"),  # a Ghent landline
        ("0470 12 34", "invalid GSM"),
        ("hello", "invalid GSM"),
        ("", "must not be empty"),
        (None, "must not be empty"),
    ],
)
def test_numbers_that_cannot_receive_sms_are_refused(given, complaint):
    with pytest.raises(InvalidInput, match=complaint) as raised:
        contacts.gsm(given)
    assert raised.value.field == "gsm"


@pytest.mark.parametrize("given", ["beheer@example.be", " Beheer@Example.BE "])
def test_email_is_normalised_to_lowercase(given):
    assert contacts.email(given) == "beheer@example.be"


@pytest.mark.parametrize("given", ["", "   ", "beheer", "beheer@", "@example.be", "a b@example.be", "beheer@example"])
def test_invalid_or_empty_email_is_refused(given):
    with pytest.raises(InvalidInput) as raised:
        contacts.email(given)
    assert raised.value.field == "email"


@pytest.mark.parametrize("given", ["zonnedelen-gent", "ec1", "a"])
def test_community_ids(given):
    assert contacts.community_id(given) == given


@pytest.mark.parametrize("given", ["Zonnedelen", "-gent", "gent-", "zon nedelen", "", "a" * 65, "../x"])
def test_bad_community_ids(given):
    with pytest.raises(InvalidInput):
        contacts.community_id(given)


def test_masked_gsm_keeps_only_the_last_two_digits():
    assert contacts.mask_gsm("+32470123456") == "+32 ••• •• 56"

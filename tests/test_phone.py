"""normalise_phone: the same answer on every call (it is cached), for any JSON value."""

import pytest

from megamsg.phone import PhoneError, normalise_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+201234567890", "+201234567890"),
        (" +20 123-456-7890 ", "+201234567890"),
        ("00201234567890", "+201234567890"),
        ("201234567890", "+201234567890"),
    ],
)
def test_a_number_normalises_to_e164_on_every_call(raw, expected):
    assert [normalise_phone(raw) for _ in range(3)] == [expected] * 3


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (None, "is required"),
        ("   ", "is required"),
        (["+201234567890"], "is required"),  # unhashable: must not reach the cache as a TypeError
        ({"n": 1}, "is required"),
        (201234567890, "is required"),
        ("+20abc", "may contain only digits"),
        ("+999", "is not"),
        ("+2012", "is not a valid international number"),
    ],
)
def test_a_bad_value_raises_the_same_problem_on_every_call(raw, problem):
    for _ in range(2):
        with pytest.raises(PhoneError, match=problem):
            normalise_phone(raw)

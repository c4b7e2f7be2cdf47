import pytest

from bot.domain.units import UnitAddress


@pytest.mark.parametrize(("text", "code"), [
    ("3-2-501", "3-2-501"), (" 3 - 2 - 501 ", "3-2-501"), ("3/2/501", "3-2-501"),
    ("3-501", "3-501"), ("12-1-1203", "12-1-1203"), ("a-1-101", "A-1-101"),
    ("3栋2单元501", "3-2-501"), ("3号楼2单元501室", "3-2-501"), ("3幢501", "3-501"),
    ("3－2－501", "3-2-501"),
])
def test_typed_addresses_parse(text, code):
    address = UnitAddress.parse(text)
    assert address is not None and address.code == code


@pytest.mark.parametrize("text", ["", "501", "building three", "3-2-501-7", "3--501",
                                  "12345-1-101", "3-2-5011111", "3栋", "DROP TABLE", "3-2-50;1"])
def test_junk_does_not_parse(text):
    assert UnitAddress.parse(text) is None


def test_parts():
    address = UnitAddress.parse("3-2-501")
    assert (address.building, address.staircase, address.room) == ("3", "2", "501")
    assert UnitAddress.parse("3-501").staircase is None

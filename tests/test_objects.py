"""Object and resource codes on formula lines: parsed as written, checked strictly, and carried
through a formula's round trip (a sweep re-validates the formula it varies) without changing a cent."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_csv

from wsf.api import allocate_files
from wsf.engine.sweep import parse_axis, sweep
from wsf.formula.model import load_formula, validate_formula
from wsf.formula.objects import ObjectRange, parse_object

FORMULA = """
[formula]
id = "objects"
source = "test"
[base]
all = 5_000
resource = "0000"
[weights.english_learner]
label = "English learners"
count = "el"
weight = 0.4
objects = ["1000-3999", "4000-4999", "5800"]
resource = "07091"
[foundations.office]
label = "Office"
amount = 100_000
objects = ["2000-3999"]
[costs.teacher]
label = "Teacher"
salary = 80_000
benefits = 30_000
object = "1100"
"""


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [("4300", 4300, 4300), ("4000-4999", 4000, 4999), (" 4000 \u2013 4999 ", 4000, 4999), ("4300.0", 4300, 4300)],
)
def test_an_object_is_read_as_a_spreadsheet_writes_it(text: str, start: int, end: int) -> None:
    assert parse_object(text) == ObjectRange(start, end)


@pytest.mark.parametrize(
    ("text", "fault"),
    [("43", "not an object code"), ("4999-4000", "runs backwards"), ("8011", "8000-8999 are revenue"), ("0100", "not an expenditure object"),
     ("4000-", "not an object code"), ("books", "not an object code")],
)
def test_a_wrong_object_says_what_is_wrong(text: str, fault: str) -> None:
    with pytest.raises(ValueError, match=fault):
        parse_object(text)


def test_a_range_is_within_the_allowed_only_when_every_object_is() -> None:
    allowed = (ObjectRange(1000, 1999), ObjectRange(2000, 3999), ObjectRange(5800, 5800))
    assert ObjectRange(1000, 3999).within(allowed)  # adjoining ranges cover it together
    assert ObjectRange(5800, 5800).within(allowed)
    assert not ObjectRange(5000, 5999).within(allowed)  # 5800 alone does not cover services
    assert not ObjectRange(3000, 4000).within(allowed)
    assert not ObjectRange(4300, 4300).within(allowed)
    assert ObjectRange(4000, 4999).group == "supplies" and ObjectRange(1000, 3999).group is None


def test_the_lines_say_what_they_may_buy_and_the_allocation_is_unchanged(tmp_path: Path) -> None:
    with_objects = tmp_path / "with.toml"
    with_objects.write_text(FORMULA, encoding="utf-8")
    plain = tmp_path / "plain.toml"
    plain.write_text("\n".join(line for line in FORMULA.splitlines() if not line.startswith(("objects", "resource", "object"))), encoding="utf-8")
    model = load_formula(with_objects).model
    assert model.funding_of("base").resource == "0000" and model.funding_of("base").allowed is None
    assert model.funding_of("english_learner").allowed == (ObjectRange(1000, 3999), ObjectRange(4000, 4999), ObjectRange(5800, 5800))
    assert model.funding_of("office").allowed == (ObjectRange(2000, 3999),)
    assert model.costs["teacher"].object == "1100"
    assert "objects" not in model.base and "resource" not in model.base  # the spans alone
    schools = write_csv(tmp_path / "schools.csv", [{"school_id": "A", "name": "A", "enrollment": 300, "el": 40}])
    assert allocate_files(with_objects, schools).table.equals(allocate_files(plain, schools).table)


def test_a_formula_round_trips_with_the_base_funding_in_base(tmp_path: Path) -> None:
    """A sweep re-validates the formula it varies: the base's objects and resource go back into [base]."""
    path = tmp_path / "f.toml"
    path.write_text(FORMULA, encoding="utf-8")
    loaded = load_formula(path)
    dumped = loaded.model.model_dump(exclude_none=True)
    assert dumped["base"] == {"all": 5000.0, "resource": "0000"} and "base_funding" not in dumped
    assert validate_formula(dumped) == loaded.model
    schools = write_csv(tmp_path / "schools.csv", [{"school_id": "A", "name": "A", "enrollment": 300, "el": 40}])
    from wsf.api import load_schools

    _, data = load_schools(path, schools)
    points = sweep(loaded, data, [parse_axis("weights.english_learner.weight=0.2:0.4:3", loaded)])
    assert points.height == 3


def test_the_models_own_name_for_the_base_funding_is_not_a_key_of_the_file(tmp_path: Path) -> None:
    from wsf.errors import WsfError

    path = tmp_path / "f.toml"
    path.write_text(FORMULA + '\n[base_funding]\nresource = "0000"\n', encoding="utf-8")
    with pytest.raises(WsfError, match="unknown key 'base_funding'"):
        load_formula(path)

"""The mechanics of golemsim.teach: registration, unknown ids, unanswered and broken answers."""

from __future__ import annotations

import pytest

from golemsim.teach import Grade, check, exercise, exercises, grade, grading


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, grading.Exercise]:
    """A registry of its own, so that the exercises registered here do not stay."""
    fresh = dict(grading._REGISTRY)
    monkeypatch.setattr(grading, "_REGISTRY", fresh)
    return fresh


def test_grade_prints_one_line_or_two() -> None:
    ok = Grade("02.1", True, "40 orders, all whole", title="checkout survives a crash mid-payment")
    assert str(ok) == "PASS 02.1 checkout survives a crash mid-payment: 40 orders, all whole"
    bad = Grade("02.1", False, "2 orders by halves", "order-checkout-7 charged but never shipped", "whole")
    assert (
        str(bad) == "FAIL 02.1 whole: 2 orders by halves\n  counter-example: order-checkout-7 charged but never shipped"
    )


def test_check_grades_prints_and_returns(
    registry: dict[str, grading.Exercise], capsys: pytest.CaptureFixture[str]
) -> None:
    @exercise("99.1", "even numbers", hint="give an even number")
    def even(answer: object) -> Grade:
        assert isinstance(answer, int), "the answer must be an int"
        if answer % 2:
            return grading.failed("99.1", "odd", f"{answer} % 2 == 1")
        return grading.passed("99.1", f"{answer} is even")

    assert "99.1" in exercises()
    result = check("99.1", 4)
    assert result == Grade("99.1", True, "4 is even", None, "even numbers")
    assert capsys.readouterr().out == "PASS 99.1 even numbers: 4 is even\n"
    wrong = check("99.1", 3)
    assert not wrong.passed and wrong.counter_example == "3 % 2 == 1"
    assert "counter-example: 3 % 2 == 1" in capsys.readouterr().out


def test_unanswered_fails_with_the_hint_without_grading(registry: dict[str, grading.Exercise]) -> None:
    calls = []

    @exercise("99.2", "never called", hint="write the experiment")
    def never(answer: object) -> Grade:
        calls.append(answer)
        return grading.passed("99.2", "?")

    result = grade("99.2", None)
    assert not result.passed
    assert result.summary == "not answered yet: write the experiment"
    assert calls == []


def test_a_grader_error_is_a_fail_naming_the_error(registry: dict[str, grading.Exercise]) -> None:
    @exercise("99.3", "strict")
    def strict(answer: object) -> Grade:
        raise ValueError(f"cannot read {answer!r}")

    result = grade("99.3", "nonsense")
    assert not result.passed
    assert result.summary == "the answer could not be graded: ValueError: cannot read 'nonsense'"
    assert "Traceback" not in str(result)


def test_unknown_id_names_the_known_ones() -> None:
    with pytest.raises(KeyError) as raised:
        check("no-such", 1)
    message = str(raised.value)
    assert "no-such" in message
    for known in exercises():
        assert known in message


def test_registering_one_id_twice_is_refused(registry: dict[str, grading.Exercise]) -> None:
    exercise("99.4", "first")(lambda answer: grading.passed("99.4", "ok"))
    with pytest.raises(ValueError, match=r"99\.4"):
        exercise("99.4", "second")(lambda answer: grading.passed("99.4", "ok"))

"""Graded exercises for the notebooks: ``check("01.1", answer)`` prints PASS or FAIL with a
counter-example found by golemsim's checkers. Graders live in ``golemsim.teach.exercises``
(one module per notebook, registered on import); the worked solutions in ``notebooks/solutions/``."""

from . import exercises as _graders  # noqa: F401  (importing it registers every grader)
from .grading import Grade, Grader, check, exercise, exercises, grade

# `exercises` is the function (the ids of the registered exercises); the graders' package stays
# importable as golemsim.teach.exercises and is found in sys.modules.

__all__ = ["Grade", "Grader", "check", "exercise", "exercises", "grade"]

"""Workshop grading: submissions in, nbgrader's gradebook, grades.csv and feedback out.

Layered like nbgrader: `cli` parses arguments, `runner` walks the batch,
`collect` finds submissions, `steps` and `execute` transform one submission,
`feedback` renders pages, `course` keeps the nbgrader course folder.
"""

from hubtrain.grading.execute import Limits
from hubtrain.grading.runner import BatchResult, Row, grade_batch

__all__ = ["BatchResult", "Limits", "Row", "grade_batch"]

"""Workshop grading: submissions in, nbgrader's gradebook, grades.csv and feedback out.

Layered like nbgrader: `commands` parses arguments (`grade`, `grading-env`),
`environment` is the hub-like environment graded code runs in, `runner` walks the batch,
`collect` finds submissions, `steps` and `execute` transform one submission,
`feedback` renders pages, `course` keeps the nbgrader course folder, `kernels`
runs one notebook in a kernel. `judge` and `judging` run the graded tests in a
kernel of their own (one per worker and language), fed the learner's answers
(`declared` says which) as plain data (`plaindata.py` and `plaindata.R`).

Import from the submodules (`hubtrain.grading.runner.grade_batch`): importing
this package must stay cheap, because every `hubtrain` command loads it to
register `hubtrain grade`, and nbgrader takes over a second to import.

May import: `hubtrain.hubfile`, `hubtrain.localcloud`, `hubtrain.learner` (what the
grading environment sets, as the learner runtime reads it) and `hubtrain.course`
(the release's nbgrader course). Never `practice`, `rehearse` or `cli`.
"""

"""The book and the student release: from a hub file and `book/` + `exercises/`
to `_build/html/` and `_build/release/`, and publishing the release for nbgitpuller.

Owns the release (`release`, nbgrader), the book build (`build`, `sphinx_ext`,
`pages`, `lightpages`, `pageweight`, `rliterals`), nbgitpuller links (`links`,
`linksheet`), publishing (`publish`) and their commands (`commands`).

May import: `hubtrain.hubfile`, `hubtrain.localcloud`, `hubtrain.learner` (the
runtime it ships) and `hubtrain.a11y` (the book's accessibility page). Never
`practice`, `grading`, `rehearse` or `cli`.
"""

"""Code that ships inside the student release and runs on the learner's hub
(`hubcheck.py`, `hubcheck.R`, `progress.ipynb`).

May import: nothing of hubtrain, ever: on the hub it runs without the package
installed. The book build and grading read its constants (what the hub sets, what
grading sets) from it, never the other way round.
"""

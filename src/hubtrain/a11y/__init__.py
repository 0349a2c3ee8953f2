"""The accessibility gate: axe-core in Chromium, waivers for upstream faults,
checks of exercise notebooks, and the results the book's accessibility page shows.

May import: nothing else of hubtrain (the book build reads its report; the tests
drive it against the book and the practice hub).
"""

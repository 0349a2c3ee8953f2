"""The accessibility gate: axe-core in Chromium, waivers for upstream faults,
checks of exercise notebooks, and the results the book's accessibility page shows."""

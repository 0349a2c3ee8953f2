"""The hub file: `hubs/<name>.yml` read, validated, written and checked.

Owns the hub file's model (`config`), reading it with a Zero to JupyterHub values
file's profile list (`profiles_import`, `load`), writing one by asking questions
(`init`), checking a running hub against it (`doctor`), their commands (`commands`),
and the command-line helpers every capability's commands share (`cliutil`:
`UsageError`, `--hub`).

May import: `hubtrain.learner` only (the learner runtime's own reading of profile
overrides, so the hub file and the learner's checks agree); every other package
builds on this one.
"""

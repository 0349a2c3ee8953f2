"""nbgrader's cell-metadata check, with its JSON schema checked once instead of per cell.

nbgrader validates each nbgrader cell's metadata with `jsonschema.validate(meta,
schema)` (nbgrader/nbgraderformat/common.py), which first validates the *schema*
against JSON Schema's meta-schema, every time: two thirds of the grading
process's schema work, on every cell, twice per notebook (sanitize and record).
Inside `cached_schema_checks()`, nbgrader's call does the same validation of the
same metadata against the same schema, raises the same error, and checks each
distinct schema once.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import nbgrader.nbgraderformat.common as nbgrader_format

__all__ = ["cached_schema_checks"]


class _JsonSchema:
    """`jsonschema` as nbgrader's metadata module sees it: its own `validate`, the rest as is."""

    def __init__(self, validate: Any) -> None:
        self.validate = validate

    def __getattr__(self, name: str) -> Any:
        return getattr(jsonschema, name)


@contextlib.contextmanager
def cached_schema_checks() -> Iterator[None]:
    """While active, nbgrader's metadata validation reuses one checked validator per schema.

    Only nbgrader's metadata module sees the change; `jsonschema` itself is untouched.
    """
    validators: dict[str, Any] = {}

    def validate(instance: Any, schema: dict) -> None:
        # nbgrader reads its schema file anew for every validator object, so the
        # key is the schema's content, not the dict's identity.
        key = json.dumps(schema, sort_keys=True)
        validator = validators.get(key)
        if validator is None:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            validator = validators[key] = cls(schema)
        # As `jsonschema.validate`: the most relevant of the errors, if any.
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error

    original = nbgrader_format.jsonschema
    nbgrader_format.jsonschema = _JsonSchema(validate)
    try:
        yield
    finally:
        nbgrader_format.jsonschema = original

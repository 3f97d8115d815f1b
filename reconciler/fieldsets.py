"""Frozen models read from files share their sets of given fields: a whole portal's snapshot in half the memory.

pydantic keeps, on every model, the set of the fields its input gave (`model_fields_set`:
what `exclude_unset` leaves out, what `manages_hwaas` asks). A set of five names or more
takes 728 bytes, more than the model and its values together: a snapshot of 10,000
customers holds some 90,000 models (45,000 of them devices), and their sets were 28 of its
67 MB. Models with the same fields given hold equal sets, so each model of a `SharedFieldSets`
class, as pydantic finishes it, takes the one set of that content instead of its own: the
memory goes back while a big file is bound, not after.

Safe because these models are frozen (the class says so, checked when it is defined):
pydantic adds to a model's set only when a field is assigned, which a frozen model refuses,
and `model_copy` copies the set before it adds the fields it updates. `_SETS` holds one set
per distinct group of field names (a few dozen in all); it only ever gains equal copies of
what pydantic made, so what a model answers never depends on it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_SETS: dict[frozenset[str], set[str]] = {}  # the field names given -> the one set every such model holds


class SharedFieldSets(BaseModel):
    """A frozen model whose set of given fields is the one shared set of its content."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.model_config.get("frozen"):
            raise TypeError(f"{cls.__name__} shares its set of given fields, so it must be frozen")

    def model_post_init(self, context: Any, /) -> None:
        given = self.__pydantic_fields_set__
        one = _SETS.setdefault(frozenset(given), given)
        if one is not given:
            object.__setattr__(self, "__pydantic_fields_set__", one)

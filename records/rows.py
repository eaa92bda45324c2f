"""Model instances from plain SQL rows, converted as Django's compiler would convert them.

For the few hot queries written as plain SQL (see api/images/queries.py and records/models/).
"""

from __future__ import annotations

from functools import cache

from django.db import connection


@cache
def _converters(model, columns: tuple[str, ...]) -> list[list]:
    """What Django's compiler applies to each column's raw value (JSON, dates on SQLite)."""
    result = []
    for column in columns:
        col = model._meta.get_field(column).get_col(model._meta.db_table)
        result.append(connection.ops.get_db_converters(col) + col.get_db_converters(connection))
    return result


def from_row(model, columns: tuple[str, ...], values):
    """`model` with the given columns loaded (others deferred), whatever their order."""
    loaded = {}
    for column, value, converters in zip(columns, values, _converters(model, columns), strict=True):
        for converter in converters:
            value = converter(value, None, connection)
        loaded[column] = value
    # Model.from_db takes values in the model's own field order.
    names = [f.attname for f in model._meta.concrete_fields if f.attname in loaded]
    return model.from_db(connection.alias, names, [loaded[name] for name in names])

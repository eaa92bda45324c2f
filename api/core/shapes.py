"""What every resource's shapes share: dates, key/value pairs, strict request bodies, and the
check that a JSON builder makes exactly the shape its serializer declares.

Each resource's `shapes.py` keeps, side by side, the serializer that documents a shape in the
OpenAPI schema and the function that builds its JSON; `fields_of` and `mismatches` let a test
prove the two agree."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

DATE = {
    "type": "string",
    "nullable": True,
    "description": "RFC 2822, UTC",
    "example": "Fri, 8 Nov 2013 00:22:26 +0000",
}


@extend_schema_field(DATE)
class DateField(serializers.CharField):
    pass


class KeyValueSerializer(serializers.Serializer):
    key = serializers.CharField()
    value = serializers.CharField(allow_blank=True)


class StrictSerializer(serializers.Serializer):
    """A request body that names a field this endpoint doesn't take is a 400 naming it."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        field: ["Unknown field; this endpoint does not accept it."]
                        for field in unknown
                    }
                )
        return super().to_internal_value(data)


def fields_of(serializer) -> dict | list:
    """The declared shape: {field: None, or the nested shape, or [nested shape] for lists}."""
    if isinstance(serializer, serializers.ListSerializer):
        return [fields_of(serializer.child)]
    shape = {}
    for name, field in serializer.fields.items():
        if isinstance(field, serializers.ListSerializer):
            shape[name] = [fields_of(field.child)]
        elif isinstance(field, serializers.Serializer):
            shape[name] = fields_of(field)
        else:
            shape[name] = None
    return shape


def mismatches(serializer, data, path: str = "") -> list[str]:
    """Where `data` (a builder's output) differs from `serializer`'s declared fields: keys
    missing or extra, at any depth of nested shapes and lists of them."""
    return _compare(fields_of(serializer), data, path or "$")


def _compare(shape, data, path: str) -> list[str]:
    if shape is None or data is None:
        return []
    if isinstance(shape, list):
        if not isinstance(data, list):
            return [f"{path}: a list was declared, got {type(data).__name__}"]
        return [m for i, item in enumerate(data) for m in _compare(shape[0], item, f"{path}[{i}]")]
    if not isinstance(data, dict):
        return [f"{path}: an object was declared, got {type(data).__name__}"]
    found = [f"{path}: missing {key}" for key in shape if key not in data]
    found += [f"{path}: not declared {key}" for key in data if key not in shape]
    for key in shape.keys() & data.keys():
        found += _compare(shape[key], data[key], f"{path}.{key}")
    return found

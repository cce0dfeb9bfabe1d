"""Serializers for the hot paths: fields built once per class, copied for each use."""

import copy

from rest_framework import serializers


# A flat serializer whose fields are built once per class. (Comments, not a docstring: the
# schema would take a docstring as the description of every serializer built on this.)
#
# For every serializer it makes, DRF deep-copies each declared field, which runs each
# field's __init__ again; on create-call and on every call push that was the largest part
# of the serializer's cost. A shallow copy per use is enough for flat fields: binding sets
# the field's name, parent and source on the copy alone, and validation and representation
# only read what the copies share (validators, choices, messages). Nested serializers and
# list or dict fields hold a bound child, so they are refused.
class FieldsBuiltOnce(serializers.Serializer):
    _field_prototypes: dict[str, serializers.Field]

    def build_fields(self) -> dict[str, serializers.Field]:
        """The fields as DRF makes them (override to add fields that cannot be declared)."""
        return super().get_fields()

    def get_fields(self) -> dict[str, serializers.Field]:
        cls = type(self)
        prototypes = cls.__dict__.get("_field_prototypes")
        if prototypes is None:
            prototypes = self.build_fields()
            for name, field in prototypes.items():
                if isinstance(field, (serializers.BaseSerializer, serializers.ListField, serializers.DictField)):
                    raise TypeError(f"{cls.__name__}.{name}: only flat fields can be built once")
                field.validators  # noqa: B018 - made once here, shared (read-only) by every copy
            cls._field_prototypes = prototypes  # a race builds them twice; either result is right
        return {name: copy.copy(field) for name, field in prototypes.items()}

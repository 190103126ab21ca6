"""Re-reading a row without forgetting the related rows already loaded with it.

Django's ``refresh_from_db`` drops every cached foreign key, and a fresh ``get`` of the same
row has none: the serializer that follows then reads the patient, the OPD and the doctor
again, one query each. On the hot routes (a token taken, cancelled or rejoined; bench/
peak_day.py) that was about a sixth of their queries. The rows kept are the ones the caller
already had in hand in the same request, as a serializer would have read them a moment
earlier; only a key that changed (a ticket claimed by another doctor) makes its row be read
again.
"""

from __future__ import annotations

from typing import Any

from django.db import models


def loaded_relations(instance: models.Model) -> dict[Any, models.Model]:
    """The related rows cached on ``instance``, by foreign key."""
    return {
        field: field.get_cached_value(instance)
        for field in instance._meta.concrete_fields
        if field.is_relation and field.is_cached(instance)
    }


def keep_relations(instance: models.Model, relations: dict[Any, models.Model]) -> None:
    """Cache on ``instance`` each of ``relations`` whose key it still holds."""
    for field, row in relations.items():
        if row is None or field.is_cached(instance):
            continue
        if getattr(instance, field.attname) == getattr(row, field.target_field.attname):
            field.set_cached_value(instance, row)


def carry_relations(fresh: models.Model, loaded: models.Model) -> models.Model:
    """``fresh`` (a new read of ``loaded``'s row) with ``loaded``'s related rows."""
    keep_relations(fresh, loaded_relations(loaded))
    return fresh


def refresh_keeping_relations(instance: models.Model) -> None:
    """``refresh_from_db``, keeping the related rows whose keys did not change."""
    relations = loaded_relations(instance)
    instance.refresh_from_db()
    keep_relations(instance, relations)


def know_written_relation(instance: models.Model, name: str, written: Any) -> None:
    """Keep on ``instance`` the rows of its reverse relation ``name`` as the caller has just
    written them (a list for a reverse foreign key, the row or None for a reverse
    one-to-one), so that the answer built from it reads nothing back."""
    relation = instance._meta.get_field(name)
    if relation.one_to_one:
        relation.set_cached_value(instance, written)
        return
    cache = getattr(instance, "_prefetched_objects_cache", None)
    if cache is None:
        cache = instance._prefetched_objects_cache = {}
    cache.pop(relation.cache_name, None)
    # As prefetch_related leaves it: the manager's queryset with its rows already fetched,
    # so that all() reads nothing and get() or filter() still work.
    rows = getattr(instance, name).get_queryset()
    rows._result_cache = list(written)
    rows._prefetch_done = True
    cache[relation.cache_name] = rows

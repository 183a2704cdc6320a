"""A Rucio DID-metadata plugin that keeps free-form metadata in the ``did_meta`` table on SQLite.

Loaded by the embedded lake's Rucio server (and its daemons) through ``[metadata] plugins =
vrelab_didmeta.SQLiteJSONDidMeta`` when the lake runs on SQLite. Runs in the server's own virtual
environment, so it imports Rucio and never vrelab.

Why: Rucio 41.5.1 ships ``rucio.core.did_meta_plugins.json_meta.JSONDidMeta`` for free-form keys
(cross-section, sum of weights, DSID...), but it refuses to work on SQLite
(``rucio.db.sqla.util.json_implemented()`` is False there), so ``set_metadata`` of any custom key
fails with "No plugin manages metadata key". The ``did_meta`` table itself exists on SQLite (its
``meta`` column is a string there), and SQLite's built-in JSON1 functions can filter on it, so this
plugin stores the metadata as a JSON text and reuses Rucio's own ``FilterEngine`` for
``list_dids(filters=...)``. It is registered under the plugin name ``JSON``, the same as Rucio's,
so ``get_metadata(scope, name, plugin='JSON')`` and ``plugin='ALL'`` behave as on a real lake.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Iterator
from typing import Any

from rucio.common import exception
from rucio.core.did_meta_plugins.did_meta_plugin_interface import DidMetaPlugin
from rucio.core.did_meta_plugins.filter_engine import FilterEngine
from rucio.db.sqla import models
from rucio.db.sqla.constants import DIDType
from rucio.db.sqla.session import read_session, stream_session, transactional_session
from sqlalchemy import and_, select

_TYPES_FOR = {
    "all": None,
    "collection": {DIDType.DATASET, DIDType.CONTAINER},
    "dataset": {DIDType.DATASET},
    "container": {DIDType.CONTAINER},
    "file": {DIDType.FILE},
}


def _decode(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return dict(raw)
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _encode(meta: dict[str, Any], dialect: str) -> Any:
    # On SQLite (and Oracle) the column is text: store JSON text; elsewhere the JSON type serialises.
    return json.dumps(meta, sort_keys=True) if dialect in ("sqlite", "oracle") else meta


class SQLiteJSONDidMeta(DidMetaPlugin):
    """Free-form DID metadata in ``did_meta`` as JSON text (plugin name ``JSON``)."""

    def __init__(self) -> None:
        super().__init__()
        self._plugin_name = "JSON"

    @staticmethod
    def _row(scope: Any, name: str, session: Any) -> Any:
        stmt = select(models.DidMeta).where(and_(models.DidMeta.scope == scope, models.DidMeta.name == name))
        return session.execute(stmt).scalar_one_or_none()

    @read_session
    def get_metadata(self, scope: Any, name: str, *, session: Any = None) -> dict[str, Any]:
        row = self._row(scope, name, session)
        return _decode(row.meta) if row is not None else {}

    @transactional_session
    def set_metadata(
        self, scope: Any, name: str, key: str, value: Any, recursive: bool = False, *, session: Any = None
    ) -> None:
        self.set_metadata_bulk(scope, name, metadata={key: value}, recursive=recursive, session=session)

    @transactional_session
    def set_metadata_bulk(
        self, scope: Any, name: str, metadata: dict[str, Any], recursive: bool = False, *, session: Any = None
    ) -> None:
        did_stmt = select(models.DataIdentifier.did_type).where(
            and_(models.DataIdentifier.scope == scope, models.DataIdentifier.name == name)
        )
        did_type = session.execute(did_stmt).scalar_one_or_none()
        if did_type is None:
            raise exception.DataIdentifierNotFound(f"Data identifier '{scope}:{name}' not found")
        dialect = session.bind.dialect.name
        row = self._row(scope, name, session)
        if row is None:
            row = models.DidMeta(scope=scope, name=name, did_type=did_type)
            merged: dict[str, Any] = {}
        else:
            merged = _decode(row.meta)
        merged.update(metadata)
        row.meta = _encode(merged, dialect)
        row.save(session=session, flush=True)

    @transactional_session
    def delete_metadata(self, scope: Any, name: str, key: str, *, session: Any = None) -> None:
        row = self._row(scope, name, session)
        if row is None:
            raise exception.DataIdentifierNotFound(f"No metadata for data identifier '{scope}:{name}'")
        meta = _decode(row.meta)
        if key not in meta:
            raise exception.KeyNotFound(key)
        meta.pop(key)
        row.meta = _encode(meta, session.bind.dialect.name)
        row.save(session=session, flush=True)

    @stream_session
    def list_dids(
        self,
        scope: Any,
        filters: Any,
        did_type: str = "collection",
        ignore_case: bool = False,
        limit: int | None = None,
        offset: int | None = None,
        long: bool = False,
        recursive: bool = False,
        ignore_dids: set[str] | None = None,
        *,
        session: Any = None,
    ) -> Iterator[Any]:
        seen = ignore_dids if ignore_dids is not None else set()
        if isinstance(filters, dict):
            filters = [filters]
        engine = FilterEngine(filters, model_class=models.DidMeta, strict_coerce=False)
        stmt = engine.create_sqla_query(
            additional_model_attributes=[
                models.DidMeta.scope,
                models.DidMeta.name,
                models.DataIdentifier.did_type,
                models.DataIdentifier.bytes,
                models.DataIdentifier.length,
            ],
            additional_filters=[(models.DidMeta.scope, operator.eq, scope)],
            json_column=models.DidMeta.meta,
            session=session,
        ).where(
            and_(
                models.DataIdentifier.scope == models.DidMeta.scope,
                models.DataIdentifier.name == models.DidMeta.name,
            )
        )
        wanted = _TYPES_FOR.get(did_type)
        if wanted is not None:
            stmt = stmt.where(models.DataIdentifier.did_type.in_(list(wanted)))
        if offset:
            stmt = stmt.offset(offset)
        if limit:
            stmt = stmt.limit(limit)
        for row in session.execute(stmt).yield_per(100):
            key = f"{row.scope}:{row.name}"
            if key in seen:
                continue
            seen.add(key)
            if long:
                yield {
                    "scope": row.scope,
                    "name": row.name,
                    "did_type": getattr(row.did_type, "name", str(row.did_type)),
                    "bytes": row.bytes,
                    "length": row.length,
                }
            else:
                yield row.name

    @read_session
    def manages_key(self, key: str, *, session: Any = None) -> bool:
        return True

"""The chip catalog in the store."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from edgewise.errors import StoreError
from edgewise.store import _schema as t
from edgewise.store._base import StoreBase, _now, record_from
from edgewise.store._records import (
    CatalogResultRecord,
    ChipRecord,
)


class CatalogMixin(StoreBase):
    """The chip catalog in the store."""

    # -- chip catalog ----------------------------------------------------------------
    def replace_catalog(
        self,
        *,
        origin: str,
        chips: Iterable[ChipRecord],
        results: Iterable[CatalogResultRecord],
    ) -> tuple[int, int]:
        """Upsert ``chips`` and replace every result of ``origin``, in one transaction.

        Returns ``(chips upserted, results inserted)``. Re-importing is idempotent.
        """
        chip_list = list(chips)
        result_list = list(results)
        c, r = t.chips, t.catalog_results
        with self._begin() as conn:
            existing = {row.name: row for row in conn.execute(sa.select(c)).all()}
            ids: dict[str, int] = {}
            for chip in chip_list:
                row = existing.get(chip.name)
                if row is None:
                    ids[chip.name] = self._insert(
                        conn,
                        c,
                        name=chip.name,
                        kind=chip.kind,
                        vendor=chip.vendor,
                        origins=sorted(set(chip.origins) | {origin}),
                        specs=chip.specs,
                        aliases=sorted(set(chip.aliases)),
                    )
                    continue
                specs = {**(row.specs or {}), **chip.specs}
                conn.execute(
                    c.update()
                    .where(c.c.id == row.id)
                    .values(
                        kind=chip.kind if chip.kind != "unknown" else row.kind,
                        vendor=chip.vendor or row.vendor,
                        origins=sorted(set(row.origins or []) | set(chip.origins) | {origin}),
                        specs=specs,
                        aliases=sorted(set(row.aliases or []) | set(chip.aliases)),
                    )
                )
                ids[chip.name] = int(row.id)
            for name, row in existing.items():
                ids.setdefault(name, int(row.id))
            conn.execute(r.delete().where(r.c.origin == origin))
            rows = []
            for res_rec in result_list:
                if res_rec.chip not in ids:
                    raise StoreError(f"catalog result names unknown chip {res_rec.chip!r}")
                rows.append(
                    {
                        "chip_id": ids[res_rec.chip],
                        "origin": origin,
                        "benchmark": res_rec.benchmark,
                        "scenario": res_rec.scenario,
                        "metric": res_rec.metric,
                        "value": float(res_rec.value),
                        "units": res_rec.units,
                        "system": res_rec.system,
                        "submitter": res_rec.submitter,
                        "round": res_rec.round,
                        "division": res_rec.division,
                        "category": res_rec.category,
                        "software": res_rec.software,
                        "source": res_rec.source,
                        "created_at": _now(),
                    }
                )
            for i in range(0, len(rows), 5000):
                conn.execute(r.insert(), rows[i : i + 5000])
        return len(chip_list), len(result_list)

    def list_chips(self) -> list[ChipRecord]:
        """Every chip in the catalog, by name."""
        with self._begin() as conn:
            rows = conn.execute(sa.select(t.chips).order_by(t.chips.c.name)).all()
        return [_chip(row._mapping) for row in rows]

    def get_chip(self, name: str) -> ChipRecord | None:
        """One chip by exact name, or ``None``."""
        with self._begin() as conn:
            row = conn.execute(sa.select(t.chips).where(t.chips.c.name == name)).first()
        return None if row is None else _chip(row._mapping)

    def catalog_results(
        self,
        *,
        chip: str | None = None,
        benchmark: str | None = None,
        origin: str | None = None,
    ) -> list[CatalogResultRecord]:
        """Catalog results, optionally for one chip, benchmark or origin."""
        c, r = t.chips, t.catalog_results
        q = sa.select(r, c.c.name.label("chip_name")).join(c, c.c.id == r.c.chip_id)
        if chip:
            q = q.where(c.c.name == chip)
        if benchmark:
            q = q.where(r.c.benchmark == benchmark)
        if origin:
            q = q.where(r.c.origin == origin)
        with self._begin() as conn:
            rows = conn.execute(q.order_by(r.c.id)).all()
        return [
            CatalogResultRecord(
                chip=row.chip_name,
                origin=row.origin,
                benchmark=row.benchmark,
                scenario=row.scenario,
                metric=row.metric,
                value=float(row.value),
                units=row.units,
                system=row.system,
                submitter=row.submitter,
                round=row.round,
                division=row.division,
                category=row.category,
                software=row.software,
                source=row.source,
            )
            for row in rows
        ]


def _chip(m: Any) -> ChipRecord:
    return record_from(
        ChipRecord,
        m,
        origins=tuple(m["origins"] or ()),
        specs=dict(m["specs"] or {}),
        aliases=tuple(m["aliases"] or ()),
    )

"""Reviews of about 100 million events: they complete, with bounded memory; prints the figures.

    .venv/bin/python benchmarks/big_run.py --out /somewhere/with/space [--chunks 10]

The demo generator holds a launch's events in memory, so the data are written in chunks:
each chunk is a demo launch of 1,000,000 users (its own seed, its unit ids prefixed with the
chunk's number), appended to one units and one events Parquet file as row groups. Three data
sets, each reviewed by `impact review` (a fresh process) with the peak resident memory of its
process tree:

- small: the first chunk on its own (10.8M events over 940k units), the baseline;
- dense: the same units with each of their events ten times over (10x the events, same units);
- large: all chunks (10x the events over 10x the units).

Each is reviewed with impact's default memory limit (sized from the data and the machine,
impact/sources/duckdb_files.py) and with IMPACT_DUCKDB_MEMORY_LIMIT=80%, DuckDB's own default
(what a review did before the limit was the default); the growth of memory against the small
set is printed, and, as the baseline of the same run,
the single DuckDB query of the primary metric over the large files (benchmarks/speed.py's
floor).
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import speed

from impact import demo
from impact.sources.duckdb_files import MEMORY_LIMIT

USERS_PER_CHUNK = 1_000_000
LIMIT = "80%"  # DuckDB's own default, measured beside impact's


def _write(out: Path, chunks: int) -> int:
    data = out / "data" / "demo"
    data.mkdir(parents=True, exist_ok=True)
    writers: dict[str, pq.ParquetWriter] = {}
    events = 0
    for chunk in range(chunks):
        scratch = out / f"chunk-{chunk}"
        demo.generate(scratch, units=USERS_PER_CHUNK, seed=100 + chunk)
        for table in ("units", "events"):
            frame = pq.read_table(scratch / f"{table}.parquet")
            ids = pa.compute.binary_join_element_wise(
                pa.scalar(f"c{chunk}-"), frame["unit_id"].cast(pa.string()), ""
            )
            frame = frame.set_column(frame.schema.get_field_index("unit_id"), "unit_id", ids)
            if table not in writers:
                writers[table] = pq.ParquetWriter(data / f"{table}.parquet", frame.schema)
            writers[table].write_table(frame, row_group_size=1_000_000)
            if table == "events":
                events += frame.num_rows
        if chunk == 0:  # a tenth of the events, for the growth of memory
            shutil.copytree(scratch, out / "small" / "data" / "demo", dirs_exist_ok=True)
        shutil.rmtree(scratch)
        print(f"chunk {chunk + 1} of {chunks}: {events:,} events so far", flush=True)
    for writer in writers.values():
        writer.close()
    return events


def _replicate(out: Path, chunks: int) -> int:
    """The large set as ``chunks`` copies of one demo launch, each copy's unit ids prefixed
    with its number (distinct units, the same shape of data): minutes instead of an hour on a
    busy machine, the same rows and units as ``_write``'s for memory and time."""
    small = out / "small" / "data" / "demo"
    demo.generate(small, units=USERS_PER_CHUNK, seed=100)
    data = out / "data" / "demo"
    data.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as connection:
        for table in ("units", "events"):
            connection.execute(
                f"COPY (SELECT * REPLACE ('c' || k || '-' || CAST(unit_id AS VARCHAR) AS unit_id) "
                f"FROM read_parquet('{small / f'{table}.parquet'}'), range({chunks}) r(k)) "
                f"TO '{data / f'{table}.parquet'}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)"
            )
    return pq.read_metadata(data / "events.parquet").num_rows


def _repeat_events(source: Path, target: Path, *, times: int) -> None:
    """The same units, each event written ``times`` times: more events, not more units."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / "units.parquet", target / "units.parquet")
    with duckdb.connect() as connection:
        connection.execute(
            f"COPY (SELECT e.* FROM read_parquet('{source / 'events.parquet'}') e, "
            f"range({times})) TO '{target / 'events.parquet'}' "
            "(FORMAT parquet, ROW_GROUP_SIZE 1000000)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="a folder outside the repository")
    parser.add_argument("--chunks", type=int, default=10)
    parser.add_argument(
        "--replicate",
        action="store_true",
        help="write the large set as copies of the first launch (fast), not ten launches",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    events = (_replicate if args.replicate else _write)(args.out, args.chunks)
    print(f"{events:,} events written in {time.perf_counter() - started:.0f} s")
    small, dense = args.out / "small", args.out / "dense"
    _repeat_events(small / "data" / "demo", dense / "data" / "demo", times=10)
    sets = {"small": small, "dense": dense, "large": args.out}
    for root in sets.values():
        (root / "specs").mkdir(exist_ok=True)
        shutil.copyfile(speed.SPEC, root / "specs" / speed.SPEC.name)
    floor = speed._floor(args.out / "data" / "demo")
    print(f"floor (one DuckDB query of the primary over the large set): {floor:.1f} s")
    for limit in (None, LIMIT):
        if limit is None:
            os.environ.pop(MEMORY_LIMIT, None)
        else:
            os.environ[MEMORY_LIMIT] = limit
        print(f"{MEMORY_LIMIT}={limit}:" if limit else "impact's default memory limit:")
        measured = {name: speed._review(root) for name, root in sets.items()}
        base = measured["small"][1]
        for name, (seconds, peak) in measured.items():
            events = pq.read_metadata(sets[name] / "data" / "demo" / "events.parquet").num_rows
            units = pq.read_metadata(sets[name] / "data" / "demo" / "units.parquet").num_rows
            print(
                f"  {name:5} {events:>11,} events, {units:>9,} units: {seconds:5.1f} s, "
                f"peak {peak:5,.0f} MB = {peak / base:.2f}x the small set's"
                + (f"; review / floor {seconds / floor:.1f}" if name == "large" else "")
            )


if __name__ == "__main__":
    main()

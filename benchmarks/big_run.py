"""One review of about 100 million events: completes, with bounded memory; prints its time.

    .venv/bin/python benchmarks/big_run.py --out /somewhere/with/space [--chunks 10]

The demo generator holds a launch's events in memory, so the data are written in chunks:
each chunk is a demo launch of 1,000,000 users (its own seed, its unit ids prefixed with the
chunk's number), appended to one units and one events Parquet file as row groups; the first
chunk is also kept on its own (a tenth of the events). Then `impact review` runs over both
(a fresh process each), with the peak resident memory of its process tree, by DuckDB's
default memory use and with IMPACT_DUCKDB_MEMORY_LIMIT=512MB; the growth of memory for 10x
the events is printed for each, and, as the baseline of the same run, the single DuckDB
query of the primary metric over the large files (benchmarks/speed.py's floor).
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import speed

from impact import demo
from impact.data import MEMORY_LIMIT

USERS_PER_CHUNK = 1_000_000
LIMIT = "512MB"  # the bounded setting measured beside DuckDB's default


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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="a folder outside the repository")
    parser.add_argument("--chunks", type=int, default=10)
    args = parser.parse_args()
    started = time.perf_counter()
    events = _write(args.out, args.chunks)
    print(f"data written in {time.perf_counter() - started:.0f} s")
    small = args.out / "small"
    for root in (args.out, small):
        (root / "specs").mkdir(exist_ok=True)
        shutil.copyfile(speed.SPEC, root / "specs" / speed.SPEC.name)
    floor = speed._floor(args.out / "data" / "demo")
    for limit in (None, LIMIT):
        if limit is None:
            os.environ.pop(MEMORY_LIMIT, None)
        else:
            os.environ[MEMORY_LIMIT] = limit
        small_seconds, small_peak = speed._review(small)
        seconds, peak = speed._review(args.out)
        setting = f"{MEMORY_LIMIT}={limit}" if limit else "DuckDB's default memory use"
        print(f"{setting}:")
        print(
            f"  a tenth of the events: impact review {small_seconds:.1f} s, peak {small_peak:,.0f} MB"
        )
        print(f"  {events:,} events: impact review {seconds:.1f} s, peak {peak:,.0f} MB")
        print(f"  10x the events: {peak / small_peak:.2f}x the memory (goal <= 1.5x)")
        if limit is None:
            print(
                f"  floor (one DuckDB query of the primary): {floor:.1f} s; ratio {seconds / floor:.1f}"
            )


if __name__ == "__main__":
    main()

"""The demo data: in the data contract, seeded, with truths the review can be checked against."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from impact import demo


def test_demo_data_are_seeded_and_in_the_contract(tmp_path: Path) -> None:
    first = demo.generate(tmp_path / "a", units=3000)
    second = demo.generate(tmp_path / "b", units=3000)
    assert first == second
    for name in ("units.parquet", "events.parquet"):
        assert pq.read_table(tmp_path / "a" / name).equals(pq.read_table(tmp_path / "b" / name))
    units = pq.read_table(tmp_path / "a" / "units.parquet").to_pandas()
    events = pq.read_table(tmp_path / "a" / "events.parquet").to_pandas()
    assert list(units.columns) == ["unit_id", "variant", "exposed_at", "platform", "country"]
    assert list(events.columns) == ["unit_id", "event", "ts", "value"]
    assert units.unit_id.is_unique and set(units.variant) == {"control", "treatment"}
    assert units.exposed_at.min() >= demo.LAUNCH and events.ts.max() < demo.DATA_END
    assert set(events.unit_id) <= set(units.unit_id)
    assert (events.ts < units.set_index("unit_id").exposed_at[events.unit_id].values).any()
    truth = json.loads((tmp_path / "a" / "truth.json").read_text())
    assert truth["expected_outcome"] == "ship"
    effects = truth["effects"]
    assert effects["checkout_conversion"]["effect"] > 0.02  # above the demo's target
    assert effects["refund_rate"]["effect"] < 0 and effects["support_contact_rate"]["effect"] < 0


def test_demo_spec_is_copied_once(tmp_path: Path) -> None:
    path = demo.write_demo_spec(tmp_path / "specs")
    assert path.read_text().startswith("# The demo launch")
    path.write_text(path.read_text() + "# my note\n")
    demo.write_demo_spec(tmp_path / "specs")
    assert path.read_text().endswith("# my note\n")

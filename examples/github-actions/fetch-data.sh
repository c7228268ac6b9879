#!/usr/bin/env bash
# Bring the review data into data/ (which stays out of git) from a place a CI runner reaches.
# With IMPACT_DATA_URL (a secret) set, download the Parquet export from there; without it,
# generate the demo data, so that the workflow runs as it is in a fresh fork.
# A warehouse works too: give the spec a postgresql:// data.source and skip this step.
set -euo pipefail
mkdir -p data
if [[ -n "${IMPACT_DATA_URL:-}" ]]; then
    curl -fsSL "$IMPACT_DATA_URL" -o data/export.tar.gz
    tar -xzf data/export.tar.gz -C data
else
    python -c 'from pathlib import Path; from impact import demo; demo.generate(Path("data/demo"), units=3000)'
fi

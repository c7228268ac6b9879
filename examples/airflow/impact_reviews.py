"""impact's scheduled reviews as an Airflow DAG: one task a day runs ``impact run --due``.

``impact run --due`` decides what is due from the published reports, so the DAG holds no
state of its own and is idempotent: a rerun of a day, a backfill or a catch-up after a pause
runs each review once, skips an interim a later look superseded, and posts each verdict once
(messages the webhook refused wait in reports/.outbox/ and go out with the next run).

The clock is the run's own day (``--today`` = the end of the data interval), so a backfill
reviews as the scheduler would have on that day. Exit codes: 0 done; 1 a review failed or a
spec is invalid (the others were published); 2 bad command-line input (a --notify that is not
a URL); 3 a review was locked by another run; 4 a message waits in the outbox; 5 a team
template's own cell failed in a published review. Airflow retries
the task on any of them; a retry reruns only what is still due. benchmarks/airflow_check.sh
runs this DAG with ``airflow dags test`` for two logical dates.

Settings (environment of the Airflow worker):
    IMPACT_HOME        the repository with specs/ (reports/ and notebooks/ are written there)
    IMPACT_BIN         the impact command (default: impact on PATH)
    IMPACT_WEBHOOK     where to post new verdicts (optional)
    IMPACT_REPORT_URL  where reports/ is served, for the messages' links (optional)
"""

from __future__ import annotations

import os

import pendulum
from airflow import DAG
from airflow.providers.standard.operators.bash import BashOperator

HOME = os.environ.get("IMPACT_HOME", "/srv/launch-reviews")
IMPACT = os.environ.get("IMPACT_BIN", "impact")

COMMAND = (
    f"{IMPACT} run --due specs --jobs 2 "
    "--today {{ data_interval_end | ds }} "
    '${IMPACT_WEBHOOK:+--notify "$IMPACT_WEBHOOK"} '
    '${IMPACT_REPORT_URL:+--report-url "$IMPACT_REPORT_URL"}'
)

with DAG(
    "impact_reviews",
    start_date=pendulum.datetime(2026, 9, 1, tz="UTC"),
    schedule="15 6 * * *",
    catchup=False,  # impact catches up by itself: one run reviews all that is due
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=30)},
    tags=["impact"],
) as dag:
    BashOperator(
        task_id="run_due_reviews",
        bash_command=COMMAND,
        cwd=HOME,
        append_env=True,
    )

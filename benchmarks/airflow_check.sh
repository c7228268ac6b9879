#!/usr/bin/env bash
# Run examples/airflow/impact_reviews.py under a real Airflow, as a scheduler would.
#
# Installs apache-airflow into its own virtual environment (AIRFLOW_VENV, default
# /tmp/airflow-venv; with Airflow's constraints file when it can be fetched, else plain pip),
# makes two demo launches and a webhook on loopback, then runs the DAG with
# `airflow dags test` for two logical dates and once more for the second, printing what
# each run reviewed and what the webhook received. It fails when a message is posted twice.
#
#   bash benchmarks/airflow_check.sh        (from the repository, after `make test` or
#                                            `pip install -e .` into .venv)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${AIRFLOW_VENV:-/tmp/airflow-venv}
impact_python=${IMPACT_PYTHON:-$repo/.venv/bin/python}
python_version=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')

if [[ ! -x "$venv/bin/airflow" ]]; then
    echo "== installing apache-airflow into $venv (takes a few minutes)"
    python3 -m venv "$venv"
    constraints="https://raw.githubusercontent.com/apache/airflow/constraints-main/constraints-$python_version.txt"
    if curl -fsS -m 10 -o "$venv/constraints.txt" "$constraints" 2>/dev/null; then
        "$venv/bin/pip" install -q apache-airflow -c "$venv/constraints.txt"
    else
        echo "   (Airflow's constraints file is not reachable: plain pip)"
        "$venv/bin/pip" install -q apache-airflow
    fi
fi
echo "== $("$venv/bin/airflow" version 2>/dev/null | tail -1 | sed 's/^/airflow /')"

work=$(mktemp -d)
trap 'kill "${receiver_pid:-0}" 2>/dev/null || true; [[ -n "${AIRFLOW_CHECK_KEEP:-}" ]] || rm -rf "$work"' EXIT
launches="$work/launches"
mkdir -p "$launches/specs"
"$impact_python" - "$repo" "$launches" <<'PY'
import sys
from pathlib import Path

import yaml

from impact import demo

repo, launches = Path(sys.argv[1]), Path(sys.argv[2])
demo.generate(launches / "data" / "demo", units=3000)
for index, launch_date in enumerate(["2026-09-01", "2026-08-25"]):
    document = yaml.safe_load((repo / "specs" / "demo-checkout.yaml").read_text())
    document.update(id=f"launch-{index}", title=f"Launch {index}", launch_date=launch_date)
    document["data"]["source"] = "../data/demo"
    (launches / "specs" / f"launch-{index}.yaml").write_text(yaml.safe_dump(document))
PY

# The webhook: records each message (with its Idempotency-Key header) in posted.jsonl.
"$impact_python" - "$work" <<'PY' &
import http.server, json, sys
from pathlib import Path

work = Path(sys.argv[1])
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        line = {"key": self.headers.get("Idempotency-Key"), "text": body["text"]}
        with (work / "posted.jsonl").open("a") as out:
            out.write(json.dumps(line) + "\n")
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
(work / "port").write_text(str(server.server_address[1]))
server.serve_forever()
PY
receiver_pid=$!
touch "$work/posted.jsonl"
for _ in $(seq 100); do [[ -s "$work/port" ]] && break; sleep 0.1; done

export AIRFLOW_HOME="$work/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$repo/examples/airflow"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export IMPACT_HOME="$launches"
export IMPACT_BIN="$impact_python -m impact"
export IMPACT_WEBHOOK="http://127.0.0.1:$(cat "$work/port")/hook"
export IMPACT_REPORT_URL="https://reports.example.org/launches"
"$venv/bin/airflow" db migrate > "$work/migrate.log" 2>&1 || { cat "$work/migrate.log"; exit 1; }

for logical_date in 2026-09-29 2026-11-25 2026-11-25; do
    echo
    echo "== airflow dags test impact_reviews $logical_date"
    before=$(wc -l < "$work/posted.jsonl")
    if ! "$venv/bin/airflow" dags test impact_reviews "$logical_date" > "$work/dags-test.log" 2>&1; then
        tail -40 "$work/dags-test.log"
        echo "airflow dags test failed"
        exit 1
    fi
    echo "-- what ran (the task's output: impact run --due)"
    grep -E "SubprocessHook|Marking run" "$work/dags-test.log" \
        | grep -vE "Tmp dir root|Output:$|Output: +\[" \
        | sed -E 's/^[^]]*\] +//; s/ +\[airflow\.task\.hooks.*$//; s/ +\[airflow\.[a-z_.]*\].*$//; s/^Marking run <DagRun ([^@]*)@ ([^ ]*).*> (successful|failed).*$/DAG run \1@ \2: \3/' \
        | cut -c1-170 | sed 's/^/   /' || true
    after=$(wc -l < "$work/posted.jsonl")
    echo "-- posted by this run: $((after - before)) message(s)"
    if (( after > before )); then
        tail -n "$((after - before))" "$work/posted.jsonl" | "$impact_python" -c '
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    print("   " + message["key"] + ": " + message["text"].splitlines()[0])'
    fi
done

echo
total=$(wc -l < "$work/posted.jsonl")
unique=$(cut -d'"' -f4 "$work/posted.jsonl" | sort -u | wc -l)
echo "== $total message(s) posted in all, $unique distinct delivery keys"
ls "$launches/reports"/*/*.manifest | sed "s|$launches/||"
if (( total != unique )); then
    echo "a message was posted twice"
    exit 1
fi
echo "airflow check: ok"

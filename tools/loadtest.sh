#!/usr/bin/env bash
# Load test: gunicorn (4 workers, 127.0.0.1:8077) against a given database, locust headless with mixed
# traffic (tools/locustfile.py), then the figures (requests/s, p50, p95, p99, errors) and a check that no
# monthly report update was lost.
#
#   tools/loadtest.sh --database postgres://postgres@127.0.0.1:5432/bench_scratch [--duration 60s] [--users 40]
#
# The database must hold a population already (guatu generate --projects N). The run adds a city admin
# (load_city), its API token and sessions, and this month's draft report for a few projects (the ones the
# twenty reporters write to); it changes nothing else except what the reporters write.
set -euo pipefail

cd "$(dirname "$0")/.."
DATABASE="" DURATION="60s" USERS=40 SPAWN=25 REPORTS=5 WORKERS=4 PORT=8077 OUT="var/loadtest"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --database) DATABASE="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --users) USERS="$2"; shift 2 ;;
    --spawn-rate) SPAWN="$2"; shift 2 ;;
    --reports) REPORTS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "未知参数：$1（可用 --database URL --duration 60s --users 40 --spawn-rate 25 --reports 5 --out DIR）" >&2; exit 2 ;;
  esac
done
if [[ -z "$DATABASE" ]]; then
  echo "请用 --database 指定数据库，如 postgres://postgres@127.0.0.1:5432/bench_scratch" >&2
  exit 2
fi
export GUATU_DATABASE_URL="$DATABASE"
export LOADTEST_PREPARED="$OUT/prepared.json" LOADTEST_WRITES="$OUT/writes.json" LOADTEST_REPORTS="$REPORTS"
mkdir -p "$OUT"
rm -f "$OUT"/locust_*.csv "$LOADTEST_WRITES"
GUATU=.venv/bin/guatu

echo "准备账号、会话与月报……" >&2
$GUATU shell -c "$(cat <<'PY'
import json, os, random
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db.models import Count
from django.utils import timezone
from rest_framework.authtoken.models import Token
from guatu.accounts.models import Role, User
from guatu.org.models import Region
from guatu.progress.models import MonthlyReport
from guatu.progress.services import report_save
from guatu.projects.models import Project

user = User.objects.filter(username="load_city").first()
if user is None:
    user = User(username="load_city", role=Role.CITY_ADMIN)
    user.set_unusable_password()
    user.save()
token, _created = Token.objects.get_or_create(user=user)
sessions = []
for _i in range(100):
    s = SessionStore()
    s[SESSION_KEY] = str(user.pk)
    s[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    s[HASH_SESSION_KEY] = user.get_session_auth_hash()
    s.create()
    sessions.append(s.session_key)
top = (
    Project.objects.filter(region__level=Region.Level.COUNTY).values("region__code", "stage__code")
    .annotate(n=Count("pk")).order_by("-n", "region__code").first()
)
month = timezone.localdate().replace(day=1)
reports = []
rng = random.Random(7)
candidates = list(Project.objects.filter(stage__code="under_construction").order_by("pk").values_list("pk", flat=True)[:500])
rng.shuffle(candidates)
for pk in candidates:
    if len(reports) >= int(os.environ["LOADTEST_REPORTS"]):
        break
    report = MonthlyReport.objects.filter(project_id=pk, month=month).select_related("status").first()
    if report is None:
        last = MonthlyReport.objects.filter(project_id=pk, month__lt=month).order_by("-month").first()
        report = report_save(actor=user, project_id=pk, month=month, data={
            "investment_done": "0", "percent_complete": last.percent_complete if last else 0,
            "physical_progress": "压测初始",
        })
    elif report.status.code not in ("draft", "returned"):
        continue
    reports.append({"id": report.pk, "version": report.version, "project": pk})
ids = list(Project.objects.order_by("?").values_list("pk", flat=True)[:2000])
prepared = {
    "token": token.key, "sessions": sessions, "projects": ids, "reports": reports,
    "list": {"region": top["region__code"], "stage": top["stage__code"], "pages": max(1, -(-top["n"] // 50))},
    "projects_total": Project.objects.count(), "vendor": settings.DATABASES["default"]["ENGINE"],
}
with open(os.environ["LOADTEST_PREPARED"], "w", encoding="utf-8") as out:
    json.dump(prepared, out)
print(f"项目 {prepared['projects_total']} 个；压测月报 {[r['id'] for r in reports]}；列表筛选 {prepared['list']}")
PY
)"

echo "启动 gunicorn（${WORKERS} 个工作进程，127.0.0.1:${PORT}）……" >&2
# --preload: the application is imported once, before the workers fork.
.venv/bin/gunicorn guatu.wsgi:application --workers "$WORKERS" --bind "127.0.0.1:$PORT" --preload \
  --access-logfile /dev/null --error-logfile "$OUT/gunicorn.log" --pid "$OUT/gunicorn.pid" 2>>"$OUT/gunicorn.log" &
GUNICORN=$!
stop_gunicorn() { kill "$GUNICORN" 2>/dev/null && wait "$GUNICORN" 2>/dev/null || true; }
trap stop_gunicorn EXIT
for _i in $(seq 1 120); do
  if curl -s -o /dev/null "http://127.0.0.1:$PORT/login/"; then break; fi
  sleep 0.5
done
# Warm every worker up (the first request of a worker imports the views and loads its caches): a few
# requests of each kind at once, so the measured minute is the steady state.
echo "预热……" >&2
read -r TOKEN SESSION PROJECT LIST_QUERY < <(.venv/bin/python -c "
import json, os
p = json.load(open(os.environ['LOADTEST_PREPARED']))
print(p['token'], p['sessions'][0], p['projects'][0], f\"region={p['list']['region']}&stage={p['list']['stage']}\")")
for url in "/api/dashboard/summary/" "/api/projects/" "/projects/?$LIST_QUERY" "/projects/$PROJECT/" "/api/reports/"; do
  pids=()
  for _i in $(seq 1 $((WORKERS * 2))); do
    curl -s -o /dev/null -H "Authorization: Token $TOKEN" -b "sessionid=$SESSION" "http://127.0.0.1:$PORT$url" &
    pids+=($!)
  done
  wait "${pids[@]}"
done

# --stop-timeout: at the end each user finishes the task it is in, so no write is cut off mid-flight.
echo "locust：${USERS} 个用户（其中 20 个填报月报），${DURATION}……" >&2
.venv/bin/locust -f tools/locustfile.py --headless --host "http://127.0.0.1:$PORT" \
  --users "$USERS" --spawn-rate "$SPAWN" --run-time "$DURATION" --csv "$OUT/locust" \
  --stop-timeout 60 --only-summary --loglevel WARNING >"$OUT/locust.log" 2>&1 || true
stop_gunicorn
trap - EXIT

echo "结果：" >&2
.venv/bin/python - "$OUT/locust_stats.csv" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8")))
for row in rows:
    name = row["Name"] if row["Name"] != "Aggregated" else "== 合计 =="
    print(
        f"{name:<42} {int(row['Request Count']):>7} 次  失败 {int(row['Failure Count']):>4}  "
        f"{float(row['Requests/s']):>7.1f} 次/秒  p50 {row['50%']:>5} ms  p95 {row['95%']:>5} ms  p99 {row['99%']:>5} ms"
    )
total = next(r for r in rows if r["Name"] == "Aggregated")
print(json.dumps({
    "requests": int(total["Request Count"]), "failures": int(total["Failure Count"]),
    "requests_per_s": round(float(total["Requests/s"]), 1),
    "p50_ms": float(total["50%"]), "p95_ms": float(total["95%"]), "p99_ms": float(total["99%"]),
}))
PY
if [[ -s "$OUT/locust_failures.csv" ]] && [[ $(wc -l <"$OUT/locust_failures.csv") -gt 1 ]]; then
  echo "失败明细（$OUT/locust_failures.csv）：" >&2
  head -20 "$OUT/locust_failures.csv" >&2
fi
if grep -q "Internal Server Error\|Traceback" "$OUT/gunicorn.log"; then
  echo "gunicorn 日志中有服务器错误：$OUT/gunicorn.log" >&2
fi

echo "检查月报：没有丢失的更新……" >&2
$GUATU shell -c "$(cat <<'PY'
import json, os, sys
from collections import defaultdict
from guatu.progress.models import MonthlyReport

prepared = json.load(open(os.environ["LOADTEST_PREPARED"], encoding="utf-8"))
log = json.load(open(os.environ["LOADTEST_WRITES"], encoding="utf-8"))
writes = defaultdict(list)
for w in log["writes"]:
    writes[w["report"]].append(w)
problems = []
for r in prepared["reports"]:
    report = MonthlyReport.objects.get(pk=r["id"])
    mine = sorted(writes[r["id"]], key=lambda w: w["version"])
    versions = [w["version"] for w in mine]
    # Each accepted write produced its own version, one after the other from where the run began:
    # two writes answered with the same version would mean one silently overwrote the other.
    if versions != list(range(r["version"] + 1, r["version"] + 1 + len(mine))):
        problems.append(f"月报 {r['id']}：接受的写入版本 {versions[:5]}… 不是从 {r['version'] + 1} 起连续的")
    if report.version != r["version"] + len(mine):
        problems.append(f"月报 {r['id']}：数据库版本 {report.version}，应为 {r['version']} + {len(mine)} 次写入")
    if mine and report.physical_progress != mine[-1]["text"]:
        problems.append(f"月报 {r['id']}：数据库中为“{report.physical_progress}”，最后一次被接受的写入是“{mine[-1]['text']}”")
    print(f"月报 {r['id']}：版本 {r['version']} → {report.version}，接受写入 {len(mine)} 次，最后写入者 客户端{mine[-1]['client'] if mine else '-'}")
print(f"共接受写入 {len(log['writes'])} 次，409 冲突后重取重试 {log['conflicts']} 次，放弃 {log['gave_up']} 次，其他错误 {log['errors']} 次")
if problems:
    print("\n".join(problems))
    sys.exit(1)
print("没有丢失的更新：每份月报的版本号恰为初始版本加上被接受的写入次数，内容是版本号最高的那次写入")
PY
)"

# The writes changed reported investment under contention: the rollups must still equal a
# recomputation from the raw tables (exit 1 otherwise).
echo "检查汇总：与原始数据逐项比对……" >&2
$GUATU rollup_verify

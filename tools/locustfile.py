"""Mixed traffic against a running guatu (see tools/loadtest.sh, which prepares the accounts and the
reports and checks the outcome).

Readers: the dashboard summary API, the project list page with two filters (region and stage, a
random page), a project's detail page, the API list. Reporters (20, all writing the same few monthly
reports): PATCH a report with the version they last read; on 409 they fetch the report again and
retry with the fresh version. Every accepted write is recorded (report, the version it produced,
the text it wrote) and dumped as JSON when the run ends, so the checker can tell whether any
update was lost.

Reads LOADTEST_PREPARED (the JSON the preparation wrote) and LOADTEST_WRITES (where to dump).
"""

import itertools
import json
import os
import random
import threading
from pathlib import Path

from locust import HttpUser, between, constant, events, task

PREPARED = json.loads(Path(os.environ["LOADTEST_PREPARED"]).read_text(encoding="utf-8"))
WRITES_PATH = os.environ.get("LOADTEST_WRITES", "loadtest-writes.json")
REPORTERS = int(os.environ.get("LOADTEST_REPORTERS", "20"))
MAX_RETRIES = 20

_lock = threading.Lock()
_writes: list[dict] = []  # every accepted PATCH: report, version after, text written, client
_counts = {"conflicts": 0, "gave_up": 0, "errors": 0}
_client_ids = itertools.count(1)


class Reader(HttpUser):
    """A city office reading: no think time, so the server is the limit."""

    wait_time = constant(0)
    weight = 3

    def on_start(self):
        # Each simulated user has its own session (the server renews a session on every request).
        self.client.cookies.set("sessionid", random.choice(PREPARED["sessions"]))
        self.api = {"Authorization": f"Token {PREPARED['token']}"}

    @task(2)
    def dashboard_summary(self):
        self.client.get("/api/dashboard/summary/", headers=self.api, name="/api/dashboard/summary/")

    @task(3)
    def project_list(self):
        flt = PREPARED["list"]
        page = random.randint(1, flt["pages"])
        self.client.get(
            "/projects/",
            params={"region": flt["region"], "stage": flt["stage"], "page": page},
            name="/projects/?region&stage&page",
        )

    @task(3)
    def project_detail(self):
        pk = random.choice(PREPARED["projects"])
        self.client.get(f"/projects/{pk}/", name="/projects/[id]/")

    @task(2)
    def api_list(self):
        self.client.get("/api/projects/", headers=self.api, name="/api/projects/")


class Reporter(HttpUser):
    """One of twenty clients filling in the same monthly reports, version by version."""

    wait_time = between(0.05, 0.3)
    fixed_count = REPORTERS

    def on_start(self):
        self.me = next(_client_ids)
        self.api = {"Authorization": f"Token {PREPARED['token']}"}
        self.versions = {r["id"]: r["version"] for r in PREPARED["reports"]}
        self.seq = itertools.count(1)

    def refetch(self, report_id: int) -> bool:
        with self.client.get(
            f"/api/reports/{report_id}/",
            headers=self.api,
            name="/api/reports/[id]/ (refetch)",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"refetch HTTP {response.status_code}")
                return False
            self.versions[report_id] = response.json()["version"]
            return True

    @task
    def submit_report(self):
        report_id = random.choice(list(self.versions))
        n = next(self.seq)
        text = f"压测客户端{self.me}第{n}次填报"
        body = {"investment_done": f"{self.me}.{n % 100:02d}", "physical_progress": text}
        for _attempt in range(MAX_RETRIES):
            with self.client.patch(
                f"/api/reports/{report_id}/",
                json={**body, "version": self.versions[report_id]},
                headers=self.api,
                name="/api/reports/[id]/ (PATCH)",
                catch_response=True,
            ) as response:
                if response.status_code == 200:
                    version = response.json()["version"]
                    self.versions[report_id] = version
                    with _lock:
                        _writes.append(
                            {"report": report_id, "version": version, "text": text, "client": self.me}
                        )
                    response.success()
                    return
                if response.status_code == 409:
                    # A version conflict is the expected answer under contention, not a failure.
                    response.success()
                    with _lock:
                        _counts["conflicts"] += 1
                else:
                    response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
                    with _lock:
                        _counts["errors"] += 1
                    return
            if not self.refetch(report_id):
                return
        with _lock:
            _counts["gave_up"] += 1


@events.quitting.add_listener
def dump_writes(environment, **kwargs):
    with _lock, open(WRITES_PATH, "w", encoding="utf-8") as out:
        json.dump({"writes": _writes, **_counts}, out, ensure_ascii=False)

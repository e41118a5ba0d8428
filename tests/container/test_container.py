#!/usr/bin/python3
"""make container-test: the image and deploy/'s manifests, run for real with podman on this machine.

1. builds the image (scripts/container-build.sh); it runs as non-root, holds no compiler, answers
   `llmload --version`;
2. runs the Job's container with the args and environment read from deploy/job.yaml (parsed with
   python3-yaml, ConfigMap and Secret references resolved from deploy/, not retyped) against
   `llmload sim` on the host: reports land in a mounted directory, exit code 0 kept / 3 broken;
4. runs the CronJob's pod template against a real Pushgateway on the host, reads the series back;
5. `podman stop` (SIGTERM) mid-run leaves a partial report in the volume and pushes it;
6. validates every manifest in deploy/ (kubernetes-models + yamllint) and shows that the validator
   rejects a CronJob without `schedule`.
(Step 3, the Indexed Job and `llmload merge`, is tests/container/test_shards.py, run next by make container-test.)

Only the cluster addresses are replaced (LLMLOAD_TARGET, LLMLOAD_PUSHGATEWAY point at 127.0.0.1)
and the run is shortened (LLMLOAD_MAX_SECONDS, LLMLOAD_WARMUP: variables beat the profile); each
replaced variable must exist in the manifest. Every process and container is stopped by its id.
TAP lines, then `N passed, N failed`; exit 1 on any failure.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import lltest  # noqa: E402
from lltest import MULT, Sim, ok  # noqa: E402

IMAGE = os.environ.get("LLMLOAD_IMAGE", "localhost/llmload:dev")
PODMAN = ["podman", "--runtime", "runc"]  # crun fails on this machine's cgroup layout


def sh(cmd, timeout=120, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout * MULT, **kw)


def hard_limit(flag):
    return int(sh(["bash", "-c", f"ulimit -H{flag}"]).stdout.strip())


# podman's default ulimits are above this machine's hard limits; NPROC at the hard limit is
# refused too, so it gets a bounded value.
ULIMITS = ["--ulimit", f"nofile={hard_limit('n')}:{hard_limit('n')}",
           "--ulimit", f"nproc={min(4096, hard_limit('u'))}:{min(4096, hard_limit('u'))}"]


def finish():
    passed = lltest._count - lltest._failures
    print(f"{passed} passed, {lltest._failures} failed", flush=True)
    sys.exit(1 if lltest._failures or lltest._count == 0 else 0)


# ---- the manifests, as a cluster would read them ------------------------------------------

def load_objects():
    objs = {}
    for f in sorted(glob.glob(os.path.join(ROOT, "deploy", "**", "*.yaml"), recursive=True)):
        for d in yaml.safe_load_all(open(f)):
            if d and d.get("kind") != "Kustomization":
                objs[(d["kind"], d["metadata"]["name"])] = d
    return objs


def pod_template(obj):
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def expand(text, env):
    """Kubernetes' $(VAR) expansion in env values and args ($$ escapes)."""
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                  lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), text)


class Pod:
    """One pod template of deploy/ as a podman container: env, envFrom, ConfigMap volumes,
    the reports volume (a host directory) and the security context, as the kubelet would."""

    def __init__(self, objs, kind, name, reports, overrides, pod_name, extra_env=None):
        self.objs, self.name = objs, pod_name
        spec = pod_template(objs[(kind, name)])
        c = spec["containers"][0]
        env = {}
        env.update(extra_env or {})  # what a controller adds (JOB_COMPLETION_INDEX)
        for src in c.get("envFrom", []):
            env.update(objs[("ConfigMap", src["configMapRef"]["name"])]["data"])
        for e in c.get("env", []):
            env[e["name"]] = self.value(e, env)
        # The cluster addresses (and the creator's start time) replaced must be ones the manifest
        # sets; the other overrides only shorten or steady the run, beating the profile.
        self.missing = [k for k in overrides if k in REPLACED and k not in env]
        env.update(overrides)
        self.env = env
        self.args = [expand(a, env) for a in c.get("args", [])]
        self.volumes = []
        self.tmp = tempfile.mkdtemp(prefix="llmload-pod-")
        for v in spec.get("volumes", []):
            mount = next(m for m in c["volumeMounts"] if m["name"] == v["name"])
            if "configMap" in v:
                d = os.path.join(self.tmp, v["name"])
                os.makedirs(d)
                for k, text in objs[("ConfigMap", v["configMap"]["name"])]["data"].items():
                    open(os.path.join(d, k), "w").write(text)
                self.volumes.append(f"{d}:{mount['mountPath']}:ro")
            else:  # the PersistentVolumeClaim: a host directory the test reads afterwards
                self.volumes.append(f"{reports}:{mount['mountPath']}")
        sc = {**spec.get("securityContext", {}), **c.get("securityContext", {})}
        self.security = []
        if "runAsUser" in sc:
            self.security += ["--user", f"{sc['runAsUser']}:{sc.get('runAsGroup', sc['runAsUser'])}"]
        if sc.get("readOnlyRootFilesystem"):
            self.security.append("--read-only")
        if "ALL" in sc.get("capabilities", {}).get("drop", []):
            self.security += ["--cap-drop", "ALL"]
        if sc.get("allowPrivilegeEscalation") is False:
            self.security += ["--security-opt", "no-new-privileges"]
        self.grace = spec.get("terminationGracePeriodSeconds", 30)

    def value(self, e, env):
        if "value" in e:
            return expand(e["value"], env)
        ref = e["valueFrom"]
        if "fieldRef" in ref:
            return {"metadata.name": self.name, "metadata.namespace": "default"}[ref["fieldRef"]["fieldPath"]]
        if "configMapKeyRef" in ref:
            r = ref["configMapKeyRef"]
            return self.objs[("ConfigMap", r["name"])]["data"][r["key"]]
        r = ref["secretKeyRef"]
        sec = self.objs[("Secret", r["name"])]
        if r["key"] in sec.get("stringData", {}):
            return sec["stringData"][r["key"]]
        import base64
        return base64.b64decode(sec["data"][r["key"]]).decode()

    def command(self, detach=False):
        cmd = PODMAN + ["run", "--name", self.name, "--network", "host", *ULIMITS, *self.security]
        cmd += ["-d"] if detach else ["--rm"]
        for v in self.volumes:
            cmd += ["-v", v]
        for k, v in self.env.items():
            cmd += ["-e", f"{k}={v}"]
        return cmd + [IMAGE, *self.args]

    def run(self, timeout):
        try:
            return sh(self.command(), timeout=timeout)
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)


def reports_dir():
    d = tempfile.mkdtemp(prefix="llmload-reports-")
    os.chmod(d, 0o777)  # the pods' fsGroup: uid 10001 writes here
    return d


def remove_container(name):
    sh(PODMAN + ["rm", "--force", "--time", "5", name], timeout=60)


# ---- a real Pushgateway on 127.0.0.1 (as tests/integration/test_pushgateway.py) ------------

class Pushgateway(lltest.Service):
    """A real Pushgateway on a free 127.0.0.1 port, ready at /-/ready, stopped by PID: lltest's
    Service, as the integration tests start it."""

    def __init__(self):
        binary = shutil.which("prometheus-pushgateway")
        super().__init__(lambda port: [binary, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file=",
                                       "--log.level=warn"])

    def names(self, job):
        """Metric names the gateway holds for one job."""
        text = urllib.request.urlopen(self.url + "/metrics", timeout=5 * MULT).read().decode()
        return {line.split("{")[0].split(" ")[0] for line in text.splitlines()
                if line and not line.startswith("#") and f'job="{job}"' in line}


def prom_names(path):
    return {line.split("{")[0].split(" ")[0] for line in open(path)
            if line.strip() and not line.startswith("#")}


SHORT = {"LLMLOAD_MAX_SECONDS": "8", "LLMLOAD_WARMUP": "1s"}
REPLACED = ("LLMLOAD_TARGET", "LLMLOAD_PUSHGATEWAY", "LLMLOAD_START_AT")


# ---- 1. the image ---------------------------------------------------------------------------

def step_image():
    t0 = time.monotonic()
    r = sh([os.path.join(ROOT, "scripts", "container-build.sh"), IMAGE], timeout=900)
    print("# " + (r.stdout.strip().splitlines() or [""])[-1] + f" in {time.monotonic() - t0:.0f} s")
    if not ok(r.returncode == 0, "1: the image builds (scripts/container-build.sh)", r.stderr[-800:]):
        finish()
    cfg = json.loads(sh(PODMAN + ["image", "inspect", IMAGE]).stdout)[0]["Config"]
    ok(cfg.get("Entrypoint") == ["llmload"], "1: ENTRYPOINT is [\"llmload\"] (no shell)", cfg.get("Entrypoint"))
    user = cfg.get("User", "")
    ok(user not in ("", "0", "root") and not user.startswith("0:"), f"1: image user is not root ({user})")
    r = sh(PODMAN + ["run", "--rm", *ULIMITS, "--entrypoint", "/usr/bin/id", IMAGE, "-u"])
    ok(r.returncode == 0 and r.stdout.strip() not in ("", "0"), f"1: runs as uid {r.stdout.strip()}", r.stderr)
    r = sh(PODMAN + ["run", "--rm", *ULIMITS, IMAGE, "--version"])
    ok(r.returncode == 0 and r.stdout.startswith("llmload 0."), "1: answers llmload --version",
       r.stdout + r.stderr)
    # The image holds this checkout's build, not a stale cached one.
    rev = sh(["git", "-C", ROOT, "describe", "--tags", "--always", "--dirty"]).stdout.strip() or "unknown"
    ok(f"({rev})" in r.stdout, f"1: the image's version is this checkout's ({rev})", r.stdout)
    # The whole file system, listed from outside the image (it needs no tool of its own).
    cid = sh(PODMAN + ["create", IMAGE]).stdout.strip()
    try:
        export = subprocess.run(PODMAN + ["export", cid], capture_output=True, timeout=120 * MULT)
        names = subprocess.run(["tar", "-t"], input=export.stdout, capture_output=True,
                               timeout=60 * MULT).stdout.decode().splitlines()
    finally:
        sh(PODMAN + ["rm", cid])
    compilers = [n for n in names if re.search(
        r"(^|/)usr/bin/(cc|c\+\+|gcc|g\+\+|clang|tcc|x86_64-linux-gnu-gcc[-0-9.]*)$|/cc1$|/cc1plus$", n)]
    ok(len(names) > 1000 and not compilers, f"1: no compiler in the image ({len(names)} files)", compilers[:5])
    ok(any(n.endswith("usr/share/llmload/profiles/chat-latency.json") for n in names),
       "1: profiles/ installed in the image")


# ---- 2. the Job --------------------------------------------------------------------------------

def step_job(objs):
    for sim_args, want, what in (([], 0, "SLO kept"), (["--ttft-ms", "1500"], 3, "SLO broken")):
        reports = reports_dir()
        name = f"llmload-run-{want}"
        remove_container(name)
        with Sim(*sim_args) as sim:
            pod = Pod(objs, "Job", "llmload-run", reports, {"LLMLOAD_TARGET": sim.url, **SHORT}, name)
            ok(not pod.missing, f"2: job.yaml sets what the test replaces ({what})", pod.missing)
            r = pod.run(timeout=120)
        ok(r.returncode == want, f"2: Job pod exits {want} ({what})", f"rc={r.returncode} {r.stderr[-600:]}")
        out = os.path.join(reports, name)  # LLMLOAD_OUT=/reports/$(POD_NAME)
        files = sorted(os.listdir(out)) if os.path.isdir(out) else []
        ok({"report.json", "requests.csv", "summary.csv", "report.html", "metrics.prom"} <= set(files),
           f"2: reports in the mounted volume under the pod's name ({what})", files)
        if "report.json" in files:
            rep = json.load(open(os.path.join(out, "report.json")))
            b = rep["benchmarks"][0]
            ok(b["schedule"] == "poisson" and b["requests"]["completed"] > 0,
               f"2: the ConfigMap's profile ran (poisson, {b['requests']['completed']} completed) ({what})")
            ok(os.stat(os.path.join(out, "report.json")).st_uid == 10001, "2: written by uid 10001")
            ok("replace-me" not in open(os.path.join(out, "report.json")).read(),
               "2: the Secret's key is not in report.json")
        shutil.rmtree(reports, ignore_errors=True)


# ---- 4 and 5. the CronJob ------------------------------------------------------------------

def step_cronjob(objs):
    reports = reports_dir()
    name = "llmload-nightly-test"
    remove_container(name)
    with Sim() as sim, Pushgateway() as pg:
        pod = Pod(objs, "CronJob", "llmload-nightly", reports,
                  {"LLMLOAD_TARGET": sim.url, "LLMLOAD_PUSHGATEWAY": pg.url, **SHORT}, name)
        ok(not pod.missing, "4: cronjob.yaml sets what the test replaces", pod.missing)
        job = pod.env["LLMLOAD_JOB"]
        r = pod.run(timeout=120)
        ok(r.returncode == 0, "4: CronJob pod exits 0", f"rc={r.returncode} {r.stderr[-600:]}")
        prom = os.path.join(reports, name, "metrics.prom")
        want = prom_names(prom) if os.path.exists(prom) else set()
        got = pg.names(job)
        ok(want and want <= got, f"4: the Pushgateway holds every series of metrics.prom under job={job} "
           f"({len(want)} names)", sorted(want - got)[:5])
    shutil.rmtree(reports, ignore_errors=True)


def step_sigterm(objs):
    reports = reports_dir()
    name = "llmload-nightly-stop"
    remove_container(name)
    with Sim() as sim, Pushgateway() as pg:
        pod = Pod(objs, "CronJob", "llmload-nightly", reports,
                  {"LLMLOAD_TARGET": sim.url, "LLMLOAD_PUSHGATEWAY": pg.url,
                   "LLMLOAD_MAX_SECONDS": "120", "LLMLOAD_WARMUP": "0"}, name)
        ok(not pod.missing, "5: cronjob.yaml sets what the test replaces", pod.missing)
        job = pod.env["LLMLOAD_JOB"]
        try:
            r = sh(pod.command(detach=True), timeout=60)
            ok(r.returncode == 0, "5: CronJob pod started detached", r.stderr[-400:])
            time.sleep(6)  # some requests done, far from the 120 s end
            t0 = time.monotonic()
            sh(PODMAN + ["stop", "--time", str(pod.grace), name], timeout=pod.grace + 30)
            took = time.monotonic() - t0
            code = sh(PODMAN + ["inspect", "--format", "{{.State.ExitCode}}", name]).stdout.strip()
            logs = sh(PODMAN + ["logs", name]).stderr
        finally:
            remove_container(name)
            shutil.rmtree(pod.tmp, ignore_errors=True)
        ok(took < pod.grace, f"5: SIGTERM ended it in {took:.1f} s, within the grace period ({pod.grace} s)")
        ok(code == "143", f"5: exit code 128+SIGTERM after the partial report ({code})", logs[-400:])
        rj = os.path.join(reports, name, "report.json")
        rep = json.load(open(rj)) if os.path.exists(rj) else {}
        ok(rep.get("partial") is True, "5: a report marked partial in the volume", logs[-400:])
        done_n = rep["benchmarks"][0]["requests"]["completed"] if rep.get("benchmarks") else 0
        ok(done_n > 0, f"5: the partial report holds the requests done before the stop ({done_n})")
        prom = os.path.join(reports, name, "metrics.prom")
        want = prom_names(prom) if os.path.exists(prom) else set()
        got = pg.names(job)
        ok(want and want <= got, f"5: the partial result was pushed (job={job}, {len(want)} names)",
           sorted(want - got)[:5])
    shutil.rmtree(reports, ignore_errors=True)


# ---- 6. manifests ----------------------------------------------------------------------------

def step_validate():
    files = sorted(glob.glob(os.path.join(ROOT, "deploy", "**", "*.yaml"), recursive=True))
    validator = os.path.join(HERE, "validate-manifests.mjs")
    r = sh(["node", validator, *files], timeout=120)
    lines = r.stdout.splitlines()
    ok(r.returncode == 0 and len(lines) >= len(files) and all(l.startswith("valid ") for l in lines),
       f"6: every manifest in deploy/ validates against the Kubernetes schemas ({len(lines)} documents)",
       r.stdout[-800:] + r.stderr[-400:])
    r = sh(["yamllint", "--strict", "-c", os.path.join(ROOT, "deploy", ".yamllint"),
            os.path.join(ROOT, "deploy")])
    ok(r.returncode == 0, "6: yamllint --strict passes on deploy/", r.stdout[-800:])
    cron = yaml.safe_load(open(os.path.join(ROOT, "deploy", "cronjob.yaml")))
    del cron["spec"]["schedule"]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump(cron, f)
    r = sh(["node", validator, f.name], timeout=60)
    os.unlink(f.name)
    ok(r.returncode != 0 and "schedule" in r.stdout, "6: the validator rejects a CronJob without schedule",
       r.stdout[-400:])


def main():
    objs = load_objects()
    step_validate()
    step_image()
    step_job(objs)
    step_cronjob(objs)
    step_sigterm(objs)
    finish()


if __name__ == "__main__":
    main()

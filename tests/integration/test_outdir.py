"""--out checked before the run, and report files written whole or not at all.

Before any request: an --out that cannot be created (a path under a regular file), a directory on
a read-only mount, and an open-file limit too low for the concurrency are one line and exit 1,
with zero POSTs at the stand-in server. When writing: every file goes to a temporary, is
fsync'ed and renamed only when all five are on disk, so a disk that fills mid-write names the
file and the reason, leaves the earlier run's files untouched and leaves no temporaries; a
planted symlink at a temporary's or a final file's name is never followed. Runs as root (CI
does): the read-only and full disks are small tmpfs mounts, unmounted in a finally.
"""
import hashlib
import os
import resource
import subprocess
import tempfile

from fakeserver import FakeServer
from lltest import BIN, MULT, done, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-outdir-")
REPORTS = ("report.json", "summary.csv", "report.html", "metrics.prom", "requests.csv")
mounts = []


def mount_tmpfs(path, opts):
    os.makedirs(path, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", path], check=True)
    mounts.append(path)


def digest(d):
    return {n: hashlib.sha256(open(os.path.join(d, n), "rb").read()).hexdigest()
            for n in sorted(os.listdir(d)) if os.path.isfile(os.path.join(d, n))}


def one_line(r):
    return r.stderr.count("\n") == 1


def base(url, out, *extra):
    return ["run", "--target", url, "--max-requests", "3", "--max-seconds", "0", "--data",
            "prompt_tokens=8,output_tokens=4", "--out", out, "--quiet", *extra]


try:
    with FakeServer() as fs:
        # 1. An --out under a regular file cannot be created: refused before any POST.
        plain = os.path.join(tmp, "plain")
        open(plain, "w").close()
        r = run(base(fs.url, os.path.join(plain, "out")))
        ok(r.returncode == 1 and one_line(r) and "--out" in r.stderr and "Not a directory" in r.stderr,
           "--out under a regular file: exit 1, one line with the reason", f"rc={r.returncode} err={r.stderr!r}")
        ok(fs.posts == 0, "--out under a regular file: zero requests sent", fs.posts)

        # 2. A directory on a read-only mount (root bypasses mode bits, not a read-only mount).
        ro = os.path.join(tmp, "ro")
        mount_tmpfs(ro, "size=1m")
        os.makedirs(os.path.join(ro, "out"))
        subprocess.run(["mount", "-o", "remount,ro", ro], check=True)
        r = run(base(fs.url, os.path.join(ro, "out")))
        ok(r.returncode == 1 and one_line(r) and "Read-only file system" in r.stderr,
           "--out on a read-only mount: exit 1, one line naming the reason", f"rc={r.returncode} err={r.stderr!r}")
        r = run(base(fs.url, os.path.join(ro, "out", "new")))
        ok(r.returncode == 1 and one_line(r) and "Read-only file system" in r.stderr,
           "--out to be created on a read-only mount: exit 1", f"rc={r.returncode} err={r.stderr!r}")
        ok(fs.posts == 0, "read-only --out: zero requests sent", fs.posts)

        # 3. An open-file limit too low for the concurrency asked (soft and hard, so it cannot be raised).
        def low_nofile():
            resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        p = subprocess.run([BIN, *base(fs.url, os.path.join(tmp, "fds"), "--schedule", "concurrent", "--rate", "200")],
                           capture_output=True, text=True, timeout=60 * MULT, preexec_fn=low_nofile)
        ok(p.returncode == 1 and one_line(p) and "open-file limit is 64" in p.stderr and "200 connections" in p.stderr,
           "ulimit -n 64 with 200 streams: exit 1, one line with the limit and the need",
           f"rc={p.returncode} err={p.stderr!r}")
        ok(fs.posts == 0, "low open-file limit: zero requests sent", fs.posts)
        p = subprocess.run([BIN, *base(fs.url, os.path.join(tmp, "fds"), "--schedule", "concurrent", "--rate", "4")],
                           capture_output=True, text=True, timeout=60 * MULT, preexec_fn=low_nofile)
        ok(p.returncode == 0, "ulimit -n 64 with 4 streams: runs", f"rc={p.returncode} err={p.stderr!r}")

        # 4. A disk that fills while the reports are written: the earlier run's five files stay as they
        #    were, nothing new is mixed in, no temporary is left, and the line names file and reason.
        full = os.path.join(tmp, "full")
        mount_tmpfs(full, "size=400k")
        out = os.path.join(full, "out")
        r = run(base(fs.url, out))
        ok(r.returncode == 0 and sorted(os.listdir(out)) == sorted(REPORTS), "tmpfs: a first run writes its five files",
           f"rc={r.returncode} err={r.stderr!r}")
        before = digest(out)
        # Leave room for the small files but not for report.html's ~80 KB.
        st = os.statvfs(full)
        filler = os.path.join(full, "filler")
        with open(filler, "wb") as f:
            f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - 40 * 1024))
        r = run(base(fs.url, out, "--seed", "7"))
        ok(r.returncode == 1 and one_line(r), "full disk: exit 1, one line", f"rc={r.returncode} err={r.stderr!r}")
        ok("report.html" in r.stderr and "No space left on device" in r.stderr,
           "full disk: the line names the file and the reason", repr(r.stderr))
        ok("left untouched" in r.stderr, "full disk: the line says the earlier files were left untouched", repr(r.stderr))
        ok(digest(out) == before, "full disk: the earlier run's files are unchanged, none added or mixed",
           f"{sorted(os.listdir(out))}")
        ok(not [n for n in os.listdir(out) if n.startswith(".")], "full disk: no temporary left", os.listdir(out))

        # 5. requests.csv whole or absent: a long run whose requests.csv alone does not fit.
        os.unlink(filler)
        out2 = os.path.join(full, "big")
        r = run(["run", "--target", fs.url, "--schedule", "concurrent", "--rate", "8", "--max-requests", "2000",
                 "--max-seconds", "0", "--data", "prompt_tokens=8,output_tokens=4", "--out", out2, "--no-progress"],
                timeout=120)
        names = os.listdir(out2) if os.path.isdir(out2) else []
        ok(r.returncode == 1 and "requests.csv" in r.stderr and "No space left on device" in r.stderr,
           "requests.csv past the disk: exit 1 naming requests.csv", f"rc={r.returncode} err={r.stderr!r}")
        ok(names == [], "requests.csv past the disk: no file at all, cut or whole", names)

    # 6. Planted symlinks at the temporaries' and the final names are not followed.
    with FakeServer() as fs:
        out = os.path.join(tmp, "planted")
        os.makedirs(out)
        victims = {}
        for n in REPORTS:
            for link in (f".{n}.0.tmp", n):
                victim = os.path.join(tmp, f"victim-{link}")
                open(victim, "w").write("precious\n")
                os.symlink(victim, os.path.join(out, link))
                victims[link] = victim
        r = run(base(fs.url, out))
        ok(r.returncode == 0, "planted symlinks: the run succeeds", f"rc={r.returncode} err={r.stderr!r}")
        ok(all(open(v).read() == "precious\n" for v in victims.values()), "planted symlinks: no target written")
        ok(all(os.path.isfile(os.path.join(out, n)) and not os.path.islink(os.path.join(out, n)) for n in REPORTS),
           "planted symlinks: each report is a regular file in --out")
        ok(all(os.path.islink(os.path.join(out, f".{n}.0.tmp")) for n in REPORTS),
           "planted symlinks: the planted temporaries are left alone")
finally:
    for m in reversed(mounts):
        subprocess.run(["umount", "-l", m])
done()

"""The service files as `make` writes them, for the tests that check them
(test_deploy.py, test_packaging.py). The templates in contrib/ are not
what an administrator gets: these are, from the real make rules."""
import atexit
import os
import shutil
import subprocess
import tempfile
import threading

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
_LOCK = threading.Lock()
_CACHE = {}


def service_files(prefix="/usr/local", sysconfdir="/etc"):
    """The directory `make service-files` filled for this PREFIX and
    sysconfdir, made once per run and removed at exit."""
    key = (prefix, sysconfdir)
    with _LOCK:
        if key not in _CACHE:
            d = tempfile.mkdtemp(prefix="ftpsd-service-files-")
            r = subprocess.run(["make", "-s", "-C", REPO, "service-files", "SERVICE_FILES_DIR=" + d,
                                "PREFIX=" + prefix, "sysconfdir=" + sysconfdir],
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                shutil.rmtree(d, ignore_errors=True)
                raise AssertionError("make service-files failed:\n" + r.stdout + r.stderr)
            _CACHE[key] = d
        return _CACHE[key]


def service_file(rel, prefix="/usr/local", sysconfdir="/etc"):
    """The text of one generated file, e.g. "systemd/ftpsd@.service"."""
    with open(os.path.join(service_files(prefix, sysconfdir), rel)) as f:
        return f.read()


@atexit.register
def cleanup():
    with _LOCK:
        for d in _CACHE.values():
            shutil.rmtree(d, ignore_errors=True)
        _CACHE.clear()

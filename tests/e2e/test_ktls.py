"""Kernel TLS on protected data connections (tls_ktls.c).

On a kernel with the TLS ULP (`make check-ktls` runs these under user-mode
Linux, with FTPSD_EXPECT_KTLS=1) every protected transfer must be carried
by the kernel: the data connection's log line says "records in kernel TLS"
and /proc/net/tls_stat counts the sockets. On a kernel without it (this
machine: ENOENT) the same transfers run on mbed TLS and the line says why.
Either way the bytes are checked by SHA-256, both directions, with curl
(OpenSSL), lftp (GnuTLS) and Python's ftplib, on TLS 1.2 and, on mbed TLS
3.6 builds, TLS 1.3; and the TLS 1.3 suite is the server's choice.
"""
import hashlib
import os
import re
import subprocess

from ftpsdtest import Server, Skip, check, cmd, hash_password, test, which

PW = hash_password("pw")
EXPECT_KERNEL = os.environ.get("FTPSD_EXPECT_KTLS") == "1"


def policy(extra=""):
    return ("cert {cert}\nkey {key}\ntls auth+data\nidle 30\n%s\n"
            "user alice password=%s root=/alice access=rwadmn\n" % (extra, PW))


def sha(b):
    return hashlib.sha256(b).hexdigest()


def tls_stat():
    """/proc/net/tls_stat as a dict ({} where the kernel has no TLS)."""
    out = {}
    try:
        with open("/proc/net/tls_stat") as f:
            for line in f:
                k, v = line.split()
                out[k] = int(v)
    except OSError:
        pass
    return out


def data_lines(srv):
    return [l for l in srv.log().splitlines() if "TLS data:" in l]


def check_paths(srv, at_least):
    """Every data connection of the session went the expected path."""
    lines = data_lines(srv)
    check(len(lines) >= at_least, "expected %d data connections, log:\n%s"
          % (at_least, srv.log()[-3000:]))
    for l in lines:
        if EXPECT_KERNEL:
            check("records in kernel TLS" in l, "not carried by the kernel: " + l)
        else:
            check(re.search(r"records in mbed TLS \(.+\)", l), "no path in: " + l)


def check_stat(before, n):
    """With kernel TLS, at least n more sockets got TX and RX keys."""
    if not EXPECT_KERNEL:
        return
    after = tls_stat()
    check(after.get("TlsTxSw", 0) - before.get("TlsTxSw", 0) >= n, (before, after))
    check(after.get("TlsRxSw", 0) - before.get("TlsRxSw", 0) >= n, (before, after))
    check(after.get("TlsDecryptError", 0) == before.get("TlsDecryptError", 0), (before, after))


def is_mbedtls3():
    r = subprocess.run(cmd("--version"), capture_output=True, text=True, timeout=30)
    return "mbed TLS 3." in r.stdout + r.stderr


def alice(srv, name):
    return os.path.join(srv.root, "alice", name)


def curl_round(srv, tls_args, tag, size):
    if not which("curl"):
        raise Skip("curl not installed")
    data = os.urandom(size) + tag.encode()
    src = os.path.join(srv.dir, tag + ".src")
    dst = os.path.join(srv.dir, tag + ".dst")
    with open(src, "wb") as f:
        f.write(data)
    url = "ftp://alice:pw@127.0.0.1:%d/%s.bin" % (srv.port, tag)
    base = ["curl", "-sS", "--ssl-reqd", "-k", "-v"] + tls_args
    r = subprocess.run(base + ["-T", src, url], capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "curl upload: %s\n%s" % (r.stderr[-2000:], srv.log()[-2000:]))
    with open(alice(srv, tag + ".bin"), "rb") as f:
        check(sha(f.read()) == sha(data), "upload stored other bytes")
    r = subprocess.run(base + ["-o", dst, url], capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "curl download: %s\n%s" % (r.stderr[-2000:], srv.log()[-2000:]))
    with open(dst, "rb") as f:
        check(sha(f.read()) == sha(data), "download differs")
    return r.stderr


@test
def test_ktls_curl_tls12():
    before = tls_stat()
    with Server(policy(), files={"alice/.keep": ""}) as srv:
        curl_round(srv, ["--tls-max", "1.2"], "c12", 24 * 1024 * 1024 + 17)
        check_paths(srv, 2)
        check(all("TLSv1.2" in l for l in data_lines(srv)), data_lines(srv))
    check_stat(before, 2)


@test
def test_ktls_curl_tls13_fastest_suite():
    if not is_mbedtls3():
        raise Skip("TLS 1.3 needs the mbed TLS 3.6 build")
    before = tls_stat()
    with Server(policy(), files={"alice/.keep": ""}) as srv:
        err = curl_round(srv, ["--tlsv1.3"], "c13", 24 * 1024 * 1024 + 5)
        check_paths(srv, 2)
        # curl offers TLS_AES_256_GCM_SHA384 first; the server's order wins:
        # ChaCha20 where mbed TLS carries the records, AES-128-GCM where
        # the kernel does.
        want = "AES_128_GCM" if EXPECT_KERNEL else "CHACHA20"
        check(re.search(r"SSL connection using TLSv1.3 / TLS_%s" % want, err), err[-1500:])
        check(all("TLSv1.3" in l and want.replace("_", "-") in l for l in data_lines(srv)),
              data_lines(srv))
    check_stat(before, 2)


@test
def test_ktls_lftp():
    if not which("lftp"):
        raise Skip("lftp not installed")
    before = tls_stat()
    data = os.urandom(9 * 1024 * 1024 + 3)
    with Server(policy(), files={"alice/down.bin": data}) as srv:
        up = os.path.join(srv.dir, "up.bin")
        with open(up, "wb") as f:
            f.write(data[::-1])
        script = ("set cmd:fail-exit true; set net:max-retries 1; set net:timeout 20; "
                  "set ftp:ssl-force true; set ftp:ssl-protect-data true; "
                  "set ssl:verify-certificate no; open -u alice,pw ftp://127.0.0.1:%d; "
                  "put %s -o up.bin; get down.bin -o %s/got.bin; quit"
                  % (srv.port, up, srv.dir))
        r = subprocess.run(["lftp", "-c", script], capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, "lftp: %s\n%s" % (r.stderr[-2000:], srv.log()[-2000:]))
        with open(os.path.join(srv.dir, "got.bin"), "rb") as f:
            check(sha(f.read()) == sha(data), "lftp download differs")
        with open(alice(srv, "up.bin"), "rb") as f:
            check(sha(f.read()) == sha(data[::-1]), "lftp upload differs")
        check_paths(srv, 2)
    check_stat(before, 2)


@test
def test_ktls_ftplib_binary_ascii_listing():
    before = tls_stat()
    data = os.urandom(5 * 1024 * 1024)
    text = b"".join(b"line %d\n" % i for i in range(20000))
    with Server(policy(), files={"alice/a.bin": data, "alice/t.txt": text}) as srv:
        f = srv.ftps(reuse=True, timeout=30)
        f.login("alice", "pw")
        f.prot_p()
        got = bytearray()
        f.retrbinary("RETR a.bin", got.extend)
        check(sha(bytes(got)) == sha(data), "RETR differs")
        import io
        f.storbinary("STOR b.bin", io.BytesIO(data[1000:]))
        with open(alice(srv, "b.bin"), "rb") as h:
            check(sha(h.read()) == sha(data[1000:]), "STOR differs")
        lines = []
        f.retrlines("RETR t.txt", lines.append)  # TYPE A over kernel TLS
        check(lines[0] == "line 0" and lines[-1] == "line 19999" and len(lines) == 20000)
        names = f.nlst()
        check(sorted(names) == ["a.bin", "b.bin", "t.txt"], names)
        f.quit()
        check_paths(srv, 4)
    check_stat(before, 4)

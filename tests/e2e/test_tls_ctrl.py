"""TLS on the control connection: AUTH, PBSZ/PROT, CCC, REIN, the `tls`
policy table of SPEC §5, implicit mode, client certificates, keylog, and
real TLS clients (openssl s_client, gnutls-cli, curl)."""
import ftplib
import os
import socket
import ssl
import subprocess
import time

from ftpsdtest import (BIN, ReusingFTP_TLS, Server, Skip, check, expect_code, hash_password,
                       insecure_context, test, which)

PW = hash_password("pw")


def policy(rule="auth+data", extra=""):
    return """
cert {cert}
key {key}
tls %s
user alice password=%s root=/ access=rwadmn
user anonymous root=/ access=r tls=off
%s
""" % (rule, PW, extra)


def tls_login(srv, user="alice", pw="pw"):
    f = srv.ftps()
    f.auth()
    f.login(user, pw)
    return f


@test
def test_auth_tls_login_python():
    with Server(policy()) as srv:
        f = srv.ftps()
        check(f.auth().startswith("234"))
        check(f.login("alice", "pw").startswith("230"))
        check(f.pwd() == "/")
        stat = f.sendcmd("STAT")
        check("protected" in stat and "TLS" in stat, stat)
        f.quit()
        check(srv.wait_log("TLSv1."), srv.log())


@test
def test_auth_required_before_login():
    with Server(policy("auth+data")) as srv:
        f = srv.ftp()
        feat = f.sendcmd("FEAT")
        check("AUTH TLS" in feat and "PBSZ" in feat and "PROT" in feat, feat)
        text = expect_code(530, f.login, "alice", "pw")
        check("TLS" in text, text)
        f.close()
        # anonymous is exempt (tls=off): the seed's anonymous exemption
        f = srv.ftp()
        check(f.login("anonymous", "a@b").startswith("230"))
        f.quit()


@test
def test_ctrl_rule_534_and_exemptions():
    with Server(policy("ctrl")) as srv:
        r = srv.raw()
        r.reply()
        check(r.cmd("NOOP")[0] == 200)
        check(r.cmd("FEAT")[0] == 211)
        check(r.cmd("SYST")[0] == 534)
        check(r.cmd("PWD")[0] == 534)
        code, lines = r.cmd("USER alice")
        check(code == 530 and "TLS" in lines[0], lines)
        check(r.cmd("QUIT")[0] == 221)
        f = tls_login(srv)
        expect_code(534, f.sendcmd, "CCC")
        f.quit()


@test
def test_data_rule_521_under_prot_c():
    with Server(policy("data")) as srv:
        f = srv.ftp()
        check(f.login("alice", "pw").startswith("230"), "data rule allows a clear login")
        expect_code(521, f.retrlines, "LIST")
        f.quit()


@test
def test_pbsz_prot_sequence():
    with Server(policy()) as srv:
        f = srv.ftps()
        expect_code(503, f.sendcmd, "PBSZ 0")
        expect_code(503, f.sendcmd, "PROT P")
        f.auth()
        expect_code(503, f.sendcmd, "PROT P")
        check(f.sendcmd("PBSZ 0") == "200 PBSZ=0")
        expect_code(536, f.sendcmd, "PROT S")
        expect_code(536, f.sendcmd, "PROT E")
        expect_code(504, f.sendcmd, "PROT X")
        check(f.sendcmd("PROT P").startswith("200"))
        check(f.sendcmd("PROT C").startswith("200"))
        expect_code(503, f.sendcmd, "AUTH TLS")
        for cmd in ("ADAT x", "MIC x", "CONF x", "ENC x"):
            expect_code(502, f.sendcmd, cmd)
        f.quit()


@test
def test_auth_off_504_and_feat():
    pol = "tls off\nuser alice password=%s root=/ access=r\n" % PW
    with Server(pol, tls=False) as srv:
        f = srv.ftp()
        expect_code(504, f.sendcmd, "AUTH TLS")
        check("AUTH" not in f.sendcmd("FEAT"))
        f.login("alice", "pw")
        expect_code(533, f.sendcmd, "CCC")
        f.quit()


@test
def test_auth_ssl_sets_prot_p():
    with Server(policy()) as srv:
        # ftplib's auth() sends AUTH TLS; AUTH SSL (curl's first try) by hand
        r = socket.create_connection((srv.host, srv.port), timeout=10)
        ff = r.makefile("rb")
        ff.readline()
        r.sendall(b"AUTH SSL\r\n")
        check(ff.readline().startswith(b"234"))
        t = insecure_context().wrap_socket(r, server_hostname="localhost")
        tf = t.makefile("rwb")
        tf.write(b"STAT\r\n")
        tf.flush()
        stat = b""
        while not stat.endswith(b"211 End of status\r\n"):
            line = tf.readline()
            check(line, "connection closed")
            stat += line
        check(b"Data protection: Private" in stat, stat)
        t.close()


@test
def test_pipelined_after_auth_discarded():
    with Server(policy("optional")) as srv:
        r = socket.create_connection((srv.host, srv.port), timeout=10)
        f = r.makefile("rb")
        f.readline()
        r.sendall(b"AUTH TLS\r\nUSER alice\r\n")
        check(f.readline().startswith(b"234"))
        t = insecure_context().wrap_socket(r, server_hostname="localhost")
        tf = t.makefile("rwb")
        tf.write(b"PASS pw\r\n")
        tf.flush()
        line = tf.readline()
        # USER was never executed: PASS without USER is a sequence error
        check(line.startswith(b"503"), line)
        t.close()


@test
def test_ccc_python():
    with Server(policy("auth+data")) as srv:
        f = tls_login(srv)
        check(f.ccc().startswith("200"))
        check(f.sendcmd("NOOP").startswith("200"))
        stat = f.sendcmd("STAT")
        check("after CCC" in stat, stat)
        expect_code(534, f.sendcmd, "AUTH TLS")
        f.quit()


@test
def test_ccc_curl_both_modes():
    """curl's --ftp-ssl-ccc: in "active" mode it answers our close_notify;
    in its default "passive" mode it never sends one and goes on in the
    clear. Both must leave a usable clear control channel (ProFTPD issue
    #954); the bytes downloaded after CCC must be the file's."""
    if not which("curl"):
        raise Skip("curl not installed")
    data = os.urandom(200000)
    for mode, reuse in (("active", "required"), ("passive", "optional"), ("passive", "required")):
        with Server(policy("auth+data", "data-reuse " + reuse), files={"f.bin": data}) as srv:
            r = subprocess.run(["curl", "-sS", "--ssl-reqd", "-k", "--max-time", "20",
                                "--ftp-ssl-ccc", "--ftp-ssl-ccc-mode", mode,
                                "ftp://alice:pw@127.0.0.1:%d/f.bin" % srv.port],
                               capture_output=True, timeout=30)
            check(srv.wait_log("CCC: control channel is now clear"), srv.log())
            skipped = "sent no close_notify" in srv.log()
            check(skipped == (mode == "passive"), (mode, srv.log()))
            if reuse == "optional" or mode == "active":
                check(r.returncode == 0 and r.stdout == data,
                      (mode, reuse, r.returncode, len(r.stdout), r.stderr[-300:]))
                check(srv.wait_log("session ended: QUIT"), srv.log())
            else:
                # OpenSSL drops a session that was not shut down, so curl
                # cannot resume it: a 522, and the log says what to change.
                check(r.returncode != 0 and r.stdout == b"", (r.returncode, r.stderr[-300:]))
                check(srv.wait_log("--ftp-ssl-ccc-mode active"), srv.log())


@test
def test_rein_under_tls():
    with Server(policy("optional")) as srv:
        f = tls_login(srv)
        f.sendcmd("PBSZ 0")
        f.sendcmd("PROT P")
        resp = f.sendcmd("REIN")
        check(resp.startswith("220"), resp)
        f.sock = f.sock.unwrap()
        f.file = f.sock.makefile("r", encoding=f.encoding)
        check(f.sendcmd("NOOP").startswith("200"))
        stat = f.sendcmd("STAT")
        check("Not logged in" in stat and "Clear" in stat, stat)
        f.quit()


@test
def test_rein_client_without_close_notify():
    """REIN from a client that drops TLS without answering close_notify and
    sends its next command in the clear: the command must arrive intact
    (not be eaten as the start of a TLS record)."""
    with Server(policy("optional")) as srv:
        f = tls_login(srv)
        resp = f.sendcmd("REIN")
        check(resp.startswith("220"), resp)
        plain = socket.socket(fileno=os.dup(f.sock.fileno()))
        plain.settimeout(10)
        plain.sendall(b"NOOP\r\n")  # at once: before the server's close_notify
        got = b""
        deadline = time.monotonic() + 10
        while b"200 " not in got and time.monotonic() < deadline:
            d = plain.recv(4096)
            if not d:
                break
            got += d
        # The clear reply to NOOP. A client this fast gets no close_notify
        # (it would land in its clear reader); a slow one (NOOP later than
        # TLS_CLEAR_CLIENT_FIRST_MS) gets one record first.
        if got[:1] in (b"\x15", b"\x17") and len(got) >= 5:
            got = got[5 + int.from_bytes(got[3:5], "big"):]
        check(got.startswith(b"200 "), got)
        plain.sendall(b"QUIT\r\n")
        plain.close()
        f.sock.close()


@test
def test_openssl_s_client_starttls():
    if not which("openssl"):
        raise Skip("openssl not installed")
    with Server(policy()) as srv:
        r = subprocess.run(["openssl", "s_client", "-starttls", "ftp", "-connect",
                            "127.0.0.1:%d" % srv.port, "-servername", "localhost", "-ign_eof"],
                           input="NOOP\r\nQUIT\r\n", capture_output=True, text=True, timeout=20)
        out = r.stdout + r.stderr
        check("200 NOOP ok" in out and "221 Goodbye" in out, out[-2000:])
        r = subprocess.run(["openssl", "s_client", "-starttls", "ftp", "-connect",
                            "127.0.0.1:%d" % srv.port, "-tls1_2"],
                           input="QUIT\r\n", capture_output=True, text=True, timeout=20)
        out = r.stdout + r.stderr
        check("Cipher is ECDHE-" in out and "Extended master secret: yes" in out, out[-2000:])
        check("CBC" not in out.split("Cipher is")[1].splitlines()[0], out)
        r = subprocess.run(["openssl", "s_client", "-tls1_1", "-starttls", "ftp", "-connect",
                            "127.0.0.1:%d" % srv.port],
                           input="QUIT\r\n", capture_output=True, text=True, timeout=20)
        out = r.stdout + r.stderr
        check(r.returncode != 0 or "Cipher is (NONE)" in out, out[-2000:])
        check(srv.wait_log("handshake"), srv.log())


@test
def test_gnutls_cli_starttls():
    if not which("gnutls-cli"):
        raise Skip("gnutls-cli not installed")
    with Server(policy()) as srv:
        r = subprocess.run(["gnutls-cli", "--insecure", "--starttls-proto=ftp",
                            "-p", str(srv.port), "127.0.0.1"],
                           input="NOOP\r\n", capture_output=True, text=True, timeout=20)
        out = r.stdout + r.stderr
        check("Handshake was completed" in out, out[-2000:])
        check("200 NOOP ok" in out, out[-2000:])


@test
def test_curl_ssl_reqd_login():
    if not which("curl"):
        raise Skip("curl not installed")
    with Server(policy()) as srv:
        r = subprocess.run(["curl", "-sS", "--ssl-reqd", "-k", "-u", "alice:pw", "-I",
                            "ftp://127.0.0.1:%d/" % srv.port, "-v"],
                           capture_output=True, text=True, timeout=30)
        out = r.stdout + r.stderr
        check("230" in out, out[-3000:])
        check("AUTH SSL" in out or "AUTH TLS" in out, out[-3000:])


@test
def test_implicit_curl_ftps():
    if not which("curl"):
        raise Skip("curl not installed")
    with Server(policy("on", "implicit on")) as srv:
        r = subprocess.run(["curl", "-sS", "-k", "-u", "alice:pw", "-I",
                            "ftps://127.0.0.1:%d/" % srv.port, "-v"],
                           capture_output=True, text=True, timeout=30)
        out = r.stdout + r.stderr
        check("230" in out, out[-3000:])
        # a plain client gets no greeting in the clear
        s = socket.create_connection((srv.host, srv.port), timeout=5)
        s.settimeout(1.0)
        try:
            data = s.recv(100)
        except socket.timeout:
            data = b""
        check(not data.startswith(b"220"), data)
        s.close()


@test
def test_alpn_other_refused_ftp_accepted():
    with Server(policy()) as srv:
        ctx = insecure_context()
        ctx.set_alpn_protocols(["http/1.1"])
        s = socket.create_connection((srv.host, srv.port), timeout=10)
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"AUTH TLS\r\n")
        f.readline()
        try:
            ctx.wrap_socket(s, server_hostname="localhost")
            raise AssertionError("handshake with ALPN http/1.1 succeeded")
        except ssl.SSLError as e:
            check("NO_APPLICATION_PROTOCOL" in str(e).upper() or "ALERT" in str(e).upper(), str(e))
        ctx = insecure_context()
        ctx.set_alpn_protocols(["ftp"])
        f = ftplib.FTP_TLS(context=ctx)
        f.connect(srv.host, srv.port, timeout=10)
        f.auth()
        check(f.sock.selected_alpn_protocol() == "ftp")
        f.login("alice", "pw")
        f.quit()


@test
def test_keylog_matches_client():
    with Server(policy(extra="keylog {dir}/keys.log")) as srv:
        ctx = insecure_context()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        client_log = os.path.join(srv.dir, "client-keys.log")
        ctx.keylog_filename = client_log
        f = ReusingFTP_TLS(context=ctx)
        f.connect(srv.host, srv.port, timeout=10)
        f.auth()
        f.login("alice", "pw")
        f.quit()
        server_lines = set(l for l in open(os.path.join(srv.dir, "keys.log")).read().splitlines()
                           if l.startswith("CLIENT_RANDOM"))
        client_lines = set(l for l in open(client_log).read().splitlines()
                           if l.startswith("CLIENT_RANDOM"))
        check(server_lines and server_lines & client_lines, (server_lines, client_lines))
        check(srv.wait_log("keylog"), srv.log())


@test
def test_client_certificate_login():
    if not which("openssl"):
        raise Skip("openssl needed to make a client certificate")
    import hashlib
    with Server("cert {cert}\nkey {key}\ntls auth+data\nclient-cert optional\n"
                "client-ca {dir}/client.crt\nuser carol cert=sha256:FP root=/ access=r\n"
                "user alice password=%s root=/ access=r\n" % PW) as srv:
        ccrt, ckey = os.path.join(srv.dir, "client.crt"), os.path.join(srv.dir, "client.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", ckey, "-out", ccrt,
                        "-days", "2", "-subj", "/CN=carol"], check=True, capture_output=True,
                       timeout=30)
        der = ssl.PEM_cert_to_DER_cert(open(ccrt).read())
        fp = hashlib.sha256(der).hexdigest()
        text = open(srv.policy).read().replace("sha256:FP", "sha256:" + fp.upper())
        with open(srv.policy, "w") as fh:
            fh.write(text)
        ctx = insecure_context()
        ctx.load_cert_chain(ccrt, ckey)
        f = ReusingFTP_TLS(context=ctx)
        f.connect(srv.host, srv.port, timeout=10)
        f.auth()
        resp = f.sendcmd("USER carol")
        check(resp.startswith("232"), resp)
        check(f.pwd() == "/")
        f.quit()
        # without the certificate carol cannot log in
        f = srv.ftps()
        f.auth()
        check(f.sendcmd("USER carol").startswith("331"))
        expect_code(530, f.sendcmd, "PASS x")
        f.quit()


@test
def test_host_must_match_sni():
    with Server(policy()) as srv:
        f = srv.ftps()
        f.auth()  # ftplib sends SNI = host given to connect ("127.0.0.1" is not sent as SNI)
        check(f.sendcmd("HOST 127.0.0.1").startswith("220"))
        f.quit()
        ctx = insecure_context()
        s = socket.create_connection((srv.host, srv.port), timeout=10)
        fh = s.makefile("rb")
        fh.readline()
        s.sendall(b"AUTH TLS\r\n")
        fh.readline()
        t = ctx.wrap_socket(s, server_hostname="ftp.example.org")
        tf = t.makefile("rwb")
        tf.write(b"HOST other.example.org\r\n")
        tf.flush()
        check(tf.readline().startswith(b"504"))
        tf.write(b"HOST FTP.example.org\r\n")
        tf.flush()
        check(tf.readline().startswith(b"220"))
        t.close()


@test
def test_tls_handshake_timeout():
    with Server(policy(extra="login-grace 1")) as srv:
        s = socket.create_connection((srv.host, srv.port), timeout=10)
        fh = s.makefile("rb")
        fh.readline()
        s.sendall(b"AUTH TLS\r\n")
        fh.readline()
        s.sendall(b"\x16\x03\x01")  # a ClientHello that never completes
        t0 = time.time()
        s.settimeout(5)
        try:
            data = s.recv(100)
        except (socket.timeout, ConnectionResetError):
            data = b"timeout"
        check(data != b"timeout" and time.time() - t0 < 4, (data, time.time() - t0))
        check(srv.wait_log("timed out"), srv.log())


@test
def test_dual_certificates_rsa_only_client_gets_rsa():
    if not which("openssl"):
        raise Skip("openssl needed to make an RSA certificate")
    pol = ("cert {cert}\nkey {key}\ncert {dir}/rsa.crt\nkey {dir}/rsa.key\ntls auth+data\n"
           "user alice password=%s root=/ access=r\n" % PW)
    with Server(pol) as srv:
        rcrt, rkey = os.path.join(srv.dir, "rsa.crt"), os.path.join(srv.dir, "rsa.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", rkey,
                        "-out", rcrt, "-days", "2", "-subj", "/CN=rsa.localhost"], check=True,
                       capture_output=True, timeout=60)
        os.chmod(rkey, 0o600)

        def server_cert(extra):
            r = subprocess.run(["openssl", "s_client", "-starttls", "ftp", "-connect",
                                "127.0.0.1:%d" % srv.port, "-tls1_2"] + extra,
                               input="QUIT\r\n", capture_output=True, text=True, timeout=20)
            out = r.stdout + r.stderr
            check("Cipher is" in out and "(NONE)" not in out, out[-1500:])
            return out

        out = server_cert(["-cipher", "ECDHE-RSA-AES128-GCM-SHA256"])
        check("CN = rsa.localhost" in out and "Peer signature type: RSA" in out, out[-1500:])
        out = server_cert([])
        check("CN = localhost" in out and "ECDSA" in out, out[-1500:])

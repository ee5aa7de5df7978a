"""The defects an attack review of main reproduced against the running binary
(the security issue of wave 2), one test each, named test_rN_... after the
review's numbering. Each was run against the code before its fix and failed.
"""
import os
import socket
import time

from ftpsdtest import RawClient, Server, check, hash_password, test

PW = hash_password("pw")
USERS = "user alice password=%s root=/alice access=rwadmn\n" % PW


def clear_policy(extra=""):
    return "tls off\nidle 30\n%s\n%s" % (extra, USERS)


class Raw(RawClient):
    def greeting(self):
        code, lines = self.reply()
        check(code == 220, "greeting: %r" % lines)


# ---------------------------------------------------------------------------
# r1: a password must never reach the log or a reply
# ---------------------------------------------------------------------------

@test
def test_r1_malformed_pass_line_never_logged_or_echoed():
    secret = "SuperSecret123"
    lines = [
        "PASS\t" + secret,          # the review's line: not a valid command line
        "pass\t" + secret,          # any case
        "PASS" + secret,            # no separator at all
        "PaSs\x0b" + secret,        # another control byte as separator
        "PASS\t" + secret * 200,    # long
        "PASS " + secret,           # a real PASS out of sequence
        "PASS  " + secret,          # two blanks
    ]
    with Server(clear_policy(), tls=False) as srv:
        c = Raw(srv.host, srv.port)
        c.greeting()
        replies = []
        for l in lines:
            code, text = c.cmd(l)
            replies.append((code, text))
            check(code in (500, 501, 503, 530), "%r: %d %r" % (l, code, text))
        c.cmd("QUIT")
        c.close()
        check(srv.wait_log("session ended"), "session end not logged")
        log = srv.log()
    for code, text in replies:
        check(all(secret[:6] not in t for t in text), "a reply echoes the password: %r" % text)
    check(secret[:6] not in log, "the log holds the password:\n" + log)
    check("malformed command line starting with 'PASS'" in log, log)

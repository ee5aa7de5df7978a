"""make tls-scan's verdicts (tests/tls_scan.py) on made-up reports: the
gate must fail on what it exists to catch, and pass certificate notes."""
import os
import sys
import xml.etree.ElementTree as ET

from ftpsdtest import check, test

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import tls_scan  # noqa: E402


@test
def test_tls_scan_judges_fail_on_findings():
    ok = [{"id": "TLS1_2", "severity": "OK", "finding": "offered"},
          {"id": "cert_chain_of_trust <cert#1>", "severity": "CRITICAL", "finding": "self signed"}]
    bad, notes = tls_scan.judge_testssl(ok)
    check(bad == [] and len(notes) == 1, (bad, notes))
    for finding in ({"id": "TLS1", "severity": "MEDIUM", "finding": "offered (deprecated)"},
                    {"id": "secure_client_renego", "severity": "HIGH", "finding": "VULNERABLE"},
                    {"id": "scanProblem", "severity": "FATAL", "finding": "no connection"}):
        bad, _ = tls_scan.judge_testssl(ok + [finding])
        check(len(bad) == 1, "not caught: %r" % finding)
    good = ET.fromstring('<document><ssltest><protocol type="tls" version="1.2" enabled="1"/>'
                         '<compression supported="0"/><renegotiation supported="1" secure="1"/>'
                         '<cipher status="preferred" sslversion="TLSv1.2" bits="256" '
                         'cipher="ECDHE-ECDSA-CHACHA20-POLY1305"/></ssltest></document>')
    check(tls_scan.judge_sslscan(good)[0] == [], "a clean sslscan report fails")
    for snippet in ('<protocol type="tls" version="1.0" enabled="1"/>',
                    '<compression supported="1"/>',
                    '<renegotiation supported="1" secure="0"/>',
                    '<heartbleed sslversion="TLSv1.2" vulnerable="1"/>',
                    '<cipher status="accepted" sslversion="TLSv1.2" bits="256" '
                    'cipher="ECDHE-RSA-AES256-SHA384"/>',
                    '<cipher status="accepted" sslversion="TLSv1.2" bits="128" '
                    'cipher="AES128-GCM-SHA256"/>'):
        root = ET.fromstring('<document><ssltest>%s</ssltest></document>' % snippet)
        check(tls_scan.judge_sslscan(root)[0] != [], "not caught: %s" % snippet)

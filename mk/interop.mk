# `make interop-report` (included by the main Makefile, which defines BIN).
#
# Runs the client interop tests (tests/e2e/test_interop.py: curl, lftp, wget,
# openssl s_client, gnutls-cli, Python ftplib, a FileZilla-like client)
# against $(BIN) and writes a Markdown compatibility table
# (client | mode | login | list | download | upload | notes) to stdout and to
# $(INTEROP_MD); the raw test output goes beside it (build/interop.log).
# The table is written even when a test fails; the target fails then.

INTEROP_MD ?= build/interop.md

.PHONY: interop-report

interop-report: $(BIN)
	FTPSD_BIN=$(abspath $(BIN)) python3 tests/e2e/interop_report.py --out $(INTEROP_MD)

#!/bin/sh
# `make demo`: a throw-away FTPS server on 127.0.0.1:2121 to try clients on.
#
# Makes a temporary directory with a self-signed certificate, a small file
# tree and a demo policy (user demo / password demo, read-write; anonymous
# read-only in clear text), prints how to connect with curl, lftp and Python,
# then runs ./ftpsd-inetd under systemd-socket-activate in the foreground,
# one process per connection, the server's log on this terminal.
# Ctrl-C stops it and removes the temporary directory.
#
# As root on Debian it installs what it lacks (systemd for
# systemd-socket-activate, curl, lftp, python3), runs each session chrooted
# into the demo tree and as `nobody`. Not as root it says what to install,
# and runs without chroot (user roots are then host paths).
#
# Environment: FTPSD_BIN (default ./ftpsd-inetd), DEMO_PORT (default 2121).
set -eu

here=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
bin=${FTPSD_BIN:-$here/ftpsd-inetd}
port=${DEMO_PORT:-2121}
addr=127.0.0.1

say() { printf 'demo: %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

case $bin in
/*) ;;
*) bin=$(pwd)/$bin ;;
esac
[ -x "$bin" ] || die "$bin is not built yet: run make"

if [ "$(id -u)" -eq 0 ]; then
    is_root=1
else
    is_root=0
fi

# --- what the demo needs -------------------------------------------------
missing=''
command -v systemd-socket-activate >/dev/null 2>&1 || missing="$missing systemd"
command -v curl >/dev/null 2>&1 || missing="$missing curl"
command -v lftp >/dev/null 2>&1 || missing="$missing lftp"
command -v python3 >/dev/null 2>&1 || missing="$missing python3"
if [ -n "$missing" ]; then
    if [ "$is_root" -eq 1 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing:$missing"
        apt-get update
        # $missing is a list of package names: split on purpose.
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
    else
        say "missing:$missing"
        say "install them with:  sudo apt-get install$missing"
        command -v systemd-socket-activate >/dev/null 2>&1 ||
            die "systemd-socket-activate (package systemd) is needed to run the demo"
        say "going on: the clients above are only for trying the server"
    fi
fi

# --- a temporary world -----------------------------------------------------
dir=$(mktemp -d "${TMPDIR:-/tmp}/ftpsd-demo.XXXXXX")
cleanup() {
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

say "working in $dir"
fingerprint=$("$bin" --gen-cert "$dir/server.crt" "$dir/server.key" localhost) ||
    die "--gen-cert failed (is this build's TLS complete?)"

mkdir -p "$dir/root/demo"
cat >"$dir/root/demo/README.txt" <<'EOF'
Hello from ftpsd-inetd.

You are user `demo` in a directory you may read, write, append to, delete
from, make directories in and rename in (access=rwadmn). Uploads are atomic:
a file appears under its name only once it is complete.
EOF
chmod 0755 "$dir/root" "$dir/root/demo"
chmod 0644 "$dir/root/demo/README.txt"

# 10,000 iterations: quick for a demo; real policies use the default 100,000.
hash=$(echo demo | "$bin" --hash-password -i 10000) || die "--hash-password failed"

if [ "$is_root" -eq 1 ]; then
    # The session enters the chroot and becomes nobody before the greeting.
    chown -R nobody "$dir/root/demo"
    privs="run-as nobody
chroot $dir/root"
    roots=''
else
    # Not root: no chroot(2) possible, so user roots are host paths.
    privs='# not started as root: no run-as, no chroot'
    roots=$dir/root
fi

(
    umask 077
    cat >"$dir/policy" <<EOF
# Demo policy written by contrib/demo.sh; see ftpsd-policy(5).
cert      $dir/server.crt
key       $dir/server.key
tls       auth+data
log       stderr
upload    atomic
active    peer
$privs
# Password "demo".
user demo      password=$hash root=$roots/demo access=rwadmn
# Anonymous sees the whole demo tree, read-only, and may skip TLS.
user anonymous root=${roots:-/} access=r tls=off
EOF
)
chmod 0600 "$dir/policy"

"$bin" -t -f "$dir/policy" >/dev/null || die "the demo policy does not check out (ftpsd-inetd -t above)"

cat <<EOF

ftpsd-inetd demo on ftp://$addr:$port/ (explicit FTPS: AUTH TLS)
  certificate: $dir/server.crt (self-signed for localhost)
  fingerprint: $fingerprint
  users:       demo / demo (read-write, TLS required); anonymous (read-only)

Connect from another terminal:

  curl --ssl-reqd -k --user demo:demo ftp://$addr:$port/
  curl --ssl-reqd -k --user demo:demo ftp://$addr:$port/README.txt
  curl --ssl-reqd -k --user demo:demo -T /etc/hostname ftp://$addr:$port/

  lftp -u demo,demo -e 'set ftp:ssl-force true; set ssl:verify-certificate no; ls; quit' $addr:$port

  python3 - <<'PY'
import ftplib, ssl
class ReusingFTP_TLS(ftplib.FTP_TLS):
    # ftpsd requires data connections to resume the control TLS session;
    # stock ftplib does not, this does.
    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host,
                                            session=self.sock.session)
        return conn, size
ctx = ssl.create_default_context(cafile="$dir/server.crt")
ftp = ReusingFTP_TLS(context=ctx)
ftp.connect("localhost", $port)
ftp.login("demo", "demo")
ftp.prot_p()
ftp.retrlines("LIST")
ftp.quit()
PY

Anonymous, in clear text (tls=off for anonymous only):
  curl ftp://$addr:$port/demo/README.txt

Server log below. Ctrl-C stops the server and removes $dir.

EOF

# Not exec: the EXIT trap must remove the temporary directory afterwards.
systemd-socket-activate --accept --inetd -l "$addr:$port" "$bin" -f "$dir/policy"

#!/usr/bin/env python3
"""Runs one command under Debian's user-mode Linux (6.1, with tls.ko), for
`make check-ktls`: kernel TLS cannot be tested on a kernel without the TLS
ULP, and UML brings one along as an ordinary package.

usage: uml_run.py [-m MEM] [-t SECONDS] CMD [ARG...]

The root file system is this machine's (hostfs), /tmp inside is a fresh
tmpfs (a current directory under /tmp is the host's again), loopback is
up, tls.ko is loaded; CMD runs as root in the current directory with the
current environment, and its exit status is ours (70 when the guest did
not finish, 71 past the time limit). One CPU.

It does what ../shared/tools/uml-run does, plus two things that hosts with
a large XSAVE area need (AVX-512 with AMX here: 11,008 bytes). UML 6.1 saves
a guest's FPU state with PTRACE_SETREGSET(NT_X86_XSTATE) into a buffer of
832 bytes; a host kernel refuses any size but its own with EFAULT, and the
guest's init dies ("ptrace set fp regs failed, errno = 14"). So:
  1. a seccomp filter on UML answers PTRACE_GETREGSET/SETREGSET of
     NT_X86_XSTATE with EIO; UML then falls back to PTRACE_GETFPREGS, the
     512-byte FXSAVE area (x87 and SSE registers only);
  2. every guest program is kept off AVX, whose upper register halves that
     area does not hold (a page fault in the middle of glibc's AVX2 memcpy
     corrupted its data): glibc through GLIBC_TUNABLES (passed on the
     kernel command line, so init itself has it), OpenSSL through
     OPENSSL_ia32cap, GnuTLS through GNUTLS_CPUID_OVERRIDE. AES-NI,
     PCLMUL and SSSE3 stay: they use the SSE registers.
Set-up (once, as root): apt-get install -y user-mode-linux kmod iproute2
"""
import ctypes
import os
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile

NO_AVX = {
    "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX,-AVX2,-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,"
                      "-AVX512CD,-FMA,-FMA4,-BMI1,-BMI2,-AVX_Fast_Unaligned_Load",
    # CPUID.1:ECX AVX (bit 28) and FMA (bit 12) off; CPUID.7 (AVX2, AVX-512,
    # VAES, BMI, SHA) all off.
    "OPENSSL_ia32cap": "~0x1000100000000000:0",
    # AES-NI, SSSE3 and PCLMUL; no AVX.
    "GNUTLS_CPUID_OVERRIDE": "0xe",
}


# Kernel TLS and the AEADs it asks the crypto API for: gcm(aes) and
# rfc7539(chacha20,poly1305).
MODULES = ("tls", "gcm", "ghash-generic", "ctr", "seqiv", "chacha20poly1305", "chacha_generic",
           "poly1305_generic")


def xstate_filter():
    """seccomp: ptrace(PTRACE_{GET,SET}REGSET, pid, NT_X86_XSTATE, ...)
    fails with EIO; everything else is allowed."""
    def stmt(code, k):
        return struct.pack("HBBI", code, 0, 0, k)

    def jump(k, jt, jf):
        return struct.pack("HBBI", 0x15, jt, jf, k)  # BPF_JMP|BPF_JEQ|BPF_K
    ld = 0x20  # BPF_LD|BPF_W|BPF_ABS
    ret = 0x06
    allow, eio = 0x7FFF0000, 0x00050000 | 5
    prog = b"".join([
        stmt(ld, 4), jump(0xC000003E, 0, 7),      # arch: x86_64, else allow
        stmt(ld, 0), jump(101, 0, 5),             # nr: ptrace
        stmt(ld, 16), jump(0x4204, 1, 0), jump(0x4205, 0, 2),  # request
        stmt(ld, 32), jump(0x202, 1, 0),          # addr: NT_X86_XSTATE
        stmt(ret, allow), stmt(ret, eio)])
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(prog)

    class Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
    fp = Fprog(len(prog) // 8, ctypes.cast(buf, ctypes.c_void_p))
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS")
    if libc.prctl(22, 2, ctypes.byref(fp), 0, 0) != 0:  # PR_SET_SECCOMP, FILTER
        raise OSError(ctypes.get_errno(), "PR_SET_SECCOMP")


def modules_ready():
    kver = sorted(os.listdir("/usr/lib/uml/modules"))[0]
    dep = "/lib/modules/%s/modules.dep" % kver
    if not os.path.exists(dep):
        os.makedirs("/lib/modules", exist_ok=True)
        link = "/lib/modules/" + kver
        if not os.path.lexists(link):
            os.symlink("/usr/lib/uml/modules/" + kver, link)
        subprocess.run(["depmod", "-b", "/", kver], check=True)


def remount_cwd():
    """The init lines that mount the host's current directory back over the
    fresh /tmp when the command runs from under it."""
    cwd = os.getcwd()
    if cwd != "/tmp" and not cwd.startswith("/tmp/"):
        return ""
    q = shlex.quote(cwd)
    return "mkdir -p %s && mount -t hostfs hostfs %s -o %s\n" % (q, q, q)


def main():
    args = sys.argv[1:]
    mem, limit = "1024M", 3000
    while args and args[0] in ("-m", "-t"):
        if args[0] == "-m":
            mem = args[1]
        else:
            limit = int(args[1])
        args = args[2:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    uml = shutil.which("linux.uml")
    if not uml:
        print("uml_run: linux.uml not found; apt-get install -y user-mode-linux kmod iproute2",
              file=sys.stderr)
        return 2
    modules_ready()
    d = tempfile.mkdtemp(prefix="uml-ktls.", dir="/var/tmp")
    try:
        env = dict(os.environ)
        env.update(NO_AVX)
        with open(os.path.join(d, "env"), "w") as f:
            for k, v in env.items():
                if k.isidentifier():
                    f.write("export %s=%s\n" % (k, shlex.quote(v)))
        rc = os.path.join(d, "rc")
        with open(os.path.join(d, "init"), "w") as f:
            f.write("#!/bin/sh\n"
                    "mount -t proc proc /proc; mount -t sysfs sys /sys\n"
                    "mount -t devpts devpts /dev/pts 2>/dev/null\n"
                    "mount -t tmpfs tmpfs /tmp\n"
                    # A checkout under /tmp is hidden by that tmpfs: show
                    # the host's copy of it at the same path again.
                    "%s"
                    "export PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
                    "ip link set lo up\n"
                    # The kernel's own module requests run modprobe without
                    # the AVX masks: load what kernel TLS needs now, and let
                    # later requests fail at once.
                    "modprobe -a %s\n"
                    "echo /bin/false > /proc/sys/kernel/modprobe\n"
                    ". %s\n"
                    "cd %s\n"
                    "%s\n"
                    "echo $? > %s\n"
                    "poweroff -f\n" % (remount_cwd(), " ".join(MODULES), shlex.quote(os.path.join(d, "env")),
                                       shlex.quote(os.getcwd()),
                                       " ".join(shlex.quote(a) for a in args),
                                       shlex.quote(rc)))
        os.chmod(os.path.join(d, "init"), 0o755)
        cmd = [uml, "mem=" + mem, "rootfstype=hostfs", "rootflags=/", "rw", "quiet", "loglevel=0",
               "init=" + os.path.join(d, "init"),
               "GLIBC_TUNABLES=" + NO_AVX["GLIBC_TUNABLES"],
               "con=null", "con0=fd:0,fd:1", "ubd0=/dev/null"]
        noise = ("Checking ", "mconsole", "System halted", "Core dump limits", "maximum size",
                 "Linux version", "\tsoft", "\thard", "Adding ", "Powering off", "reboot:")
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, preexec_fn=xstate_filter,
                             start_new_session=True)
        try:
            out, _ = p.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, 9)
            p.communicate()
            print("uml_run: the command ran past %d s" % limit, file=sys.stderr)
            return 71
        for line in out.decode(errors="replace").splitlines():
            if not line.startswith(noise):
                print(line)
        sys.stdout.flush()
        if not os.path.exists(rc):
            print("uml_run: the command did not finish (kernel or init failure)",
                  file=sys.stderr)
            return 70
        with open(rc) as f:
            return int(f.read().strip() or "70")
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

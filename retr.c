/* RETR (RFC 959, SPEC §3): a download of one plain file beneath the user's
 * root, from the REST offset if one was given. The file is opened and
 * checked before the 150 reply, so every refusal is a 5xx with a reason;
 * from the 150 on, the transfer engine moves the bytes and a broken
 * transfer is a 426, never a 226. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "cmds.h"
#include "codes.h"
#include "ctrl.h"
#include "dataconn.h"
#include "dataport.h"
#include "log.h"
#include "path.h"
#include "session.h"
#include "sys.h"
#include "sys_fs.h"
#include "vpath.h"
#include "xfer.h"

/* Opens what RETR names and checks it is a plain file the offset fits.
 * The fd (blocking), or -1 with the reply sent. */
static int open_download(struct session *s, const char *arg, const char *vpath, uint64_t rest,
                         struct stat *st)
{
    /* O_NONBLOCK: opening a FIFO must not hang the session. */
    int fd = path_open(s->login.root_fd, vpath, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
    if (fd < 0 || sys_fstat(fd, st) != 0) {
        int e = errno;
        sys_closep(&fd);
        vpath_fail(s, "RETR", arg, vpath, e);
        return -1;
    }
    if (!S_ISREG(st->st_mode)) {
        sys_closep(&fd);
        reply(s, FTP_FILE_UNAVAIL, "%s: %s", arg,
              S_ISDIR(st->st_mode) ? "Is a directory; use LIST or MLSD" : "Not a plain file");
        return -1;
    }
    if (!sys_set_nonblock(fd, false)) {
        int e = errno;
        sys_closep(&fd);
        vpath_fail(s, "RETR", arg, vpath, e);
        return -1;
    }
    if (rest > (uint64_t)st->st_size) {
        sys_closep(&fd);
        reply(s, FTP_BAD_REST, "REST offset %llu is beyond the end of %s (%llu bytes)",
              (unsigned long long)rest, arg, (unsigned long long)st->st_size);
        return -1;
    }
    return fd;
}

void cmd_retr(struct session *s, const char *arg)
{
    uint64_t rest = s->proto.rest;
    s->proto.rest = 0;
    char vpath[DEFS_PATH_MAX];
    if (!vpath_resolve(s, arg, vpath, sizeof vpath, false)) {
        return;
    }
    struct stat st;
    int fd = open_download(s, arg, vpath, rest, &st);
    if (fd < 0) {
        return;
    }
    if (!data_prepared(s)) {
        sys_closep(&fd);
        reply(s, FTP_CANT_OPEN_DATA, "Use PASV or EPSV (or PORT/EPRT) first");
        return;
    }
    reply(s, FTP_DATA_OPENING, "Opening %s mode data connection for %s (%llu bytes)",
          s->proto.type_ascii ? "ASCII" : "BINARY", arg, (unsigned long long)st.st_size);
    xfer_begin(s, vpath, false);
    if (!data_open(s)) {
        sys_closep(&fd);
        xfer_end(s, false, false);
        return;
    }
    int ferr = 0;
    enum data_status ds = xfer_send_file(s, fd, (off_t)rest, &ferr);
    sys_closep(&fd);
    if (ds == DATA_OK) {
        if (!data_close(s)) {
            debug("RETR %s: the client did not finish the close exchange", vpath);
        }
        xfer_end(s, true, true);
        reply(s, FTP_TRANSFER_OK, "Transfer complete (%llu bytes)",
              (unsigned long long)s->xfer.bytes);
        return;
    }
    data_abandon(s);
    xfer_end(s, false, true);
    if (ferr) {
        err("RETR %s: read error: %s", vpath, strerror(ferr));
        reply(s, FTP_LOCAL_ERROR, "Read error on %s (%s); transfer aborted", arg, strerror(ferr));
        return;
    }
    info("RETR %s incomplete after %llu bytes", vpath, (unsigned long long)s->xfer.bytes);
    xfer_reply_failure(s, ds, NULL);
}

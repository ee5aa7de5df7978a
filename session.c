/* The session's state (include/session.h): each group of fields is given
 * its initial value in exactly one function below, and init, logout and REIN
 * are built from those, so no reset can forget a field another one sets. */
#include "session.h"

#include "log.h"
#include "sys.h"

/* The login group as it is before USER: the global rules apply. */
static void login_initial(struct session *s)
{
    s->login = (struct sess_login){
        .user = NULL,
        .username = "",
        .user_given = false,
        .logged_in = false,
        .eff = {.root = "/", .access = 0, .tls = s->pol->tls},
        .tls_rule = s->pol->tls,
        .root_fd = -1,
        .cwd = "/",
    };
}

/* The protocol group as RFC 959 and RFC 4217 start it: PROT C, TYPE I
 * (what every client sets first anyway), no REST, no RNFR, no HOST; the
 * policy's first HASH algorithm, no RANG (draft-bryan-ftpext-hash). */
static void proto_initial(struct session *s)
{
    s->proto = (struct sess_proto){
        .pbsz_done = false,
        .prot_private = false,
        .type_ascii = false,
        .rest = 0,
        .rnfr_set = false,
        .host_given = false,
        .hash_algo = -1,
        .rang_set = false,
    };
}

void session_init(struct session *s, const struct session_start *st)
{
    /* s is static storage, zero already: only the non-zero fields are set.
     * PERF: assigning a whole struct session would dirty the pages of its
     * transfer buffers (32 KiB) in sessions that never transfer a byte. */
    s->pol = st->pol;
    s->tls = st->tls;
    s->ctrl_rfd = st->rfd;
    s->ctrl_wfd = st->wfd;
    s->peer_addr = st->peer;
    s->local_addr = st->local;
    s->peer_len = st->peer_len;
    s->xferlog_fd = st->xferlog_fd;
    s->pasv = st->pasv;
    s->login_deadline_ms = st->start_ms + (int64_t)st->pol->login_grace * 1000;
    s->max_iterations = DEFS_PBKDF2_DEFAULT_ITER;
    session_data_initial(s);
    (void)sys_copy(s->peer, sizeof s->peer, st->peer_str);
    for (size_t i = 0; i < st->pol->nusers; i++) {
        const struct pol_user *u = &st->pol->users[i];
        if (u->has_password && u->password.iterations > s->max_iterations) {
            s->max_iterations = u->password.iterations;
        }
    }
    buf_init(&s->reply_buf, s->reply_storage, sizeof s->reply_storage);
    lr_init(&s->lr);
    login_initial(s);
    proto_initial(s);
}

void session_data_initial(struct session *s)
{
    s->data = (struct data_state){.pasv_fd = -1, .port_set = false, .epsv_all = false};
    s->conn = (struct data_conn){.fd = -1, .tls = NULL};
}

void session_logout(struct session *s)
{
    sys_closep(&s->login.root_fd);
    login_initial(s);
    log_set_user(NULL);
}

void session_rein(struct session *s)
{
    session_logout(s);
    proto_initial(s);
}

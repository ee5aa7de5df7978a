/* policy_print.c — the `-t` report of SPEC §5.
 *
 * First every global setting, one `key value` line each in the order of the
 * directive table, defaults filled in; then one line a user with the
 * effective values pol_effective() gives. Values are written so that the
 * parser reads them back unchanged (quoted where they have blanks, `"` or
 * `#`), and keywords of choice values come from the parser's own tables, so
 * the report cannot drift from the grammar.
 */
#include "policy_priv.h"

#include <inttypes.h>

void pol_access_letters(uint32_t access, char *buf, size_t bufsz)
{
    static const char letters[] = "rwadmn";
    size_t o = 0;

    if (bufsz == 0) {
        return;
    }
    for (size_t i = 0; letters[i] != '\0'; i++) {
        if ((access & (1u << i)) != 0 && o + 1 < bufsz) {
            buf[o++] = letters[i];
        }
    }
    buf[o] = '\0';
}

/* Writes a value so the parser reads it back unchanged. */
static void print_value(FILE *out, const char *s)
{
    bool quote = s[0] == '\0';

    for (size_t i = 0; s[i] != '\0'; i++) {
        if (pol_is_blank(s[i]) || s[i] == '"' || s[i] == '#') {
            quote = true;
        }
    }
    if (!quote) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (size_t i = 0; s[i] != '\0'; i++) {
        if (s[i] == '"' || s[i] == '\\') {
            fputc('\\', out);
        }
        fputc(s[i], out);
    }
    fputc('"', out);
}

static void print_str(FILE *out, const char *kw, const char *s)
{
    fprintf(out, "%s ", kw);
    print_value(out, s != NULL ? s : "none");
    fputc('\n', out);
}

static void print_choice(FILE *out, const char *kw, int value)
{
    const struct pol_choice *c = pol_directive_choices(kw);

    fprintf(out, "%s %s\n", kw, c != NULL ? pol_choice_name(c, value) : "?");
}

/* `cert` or `key`: one line each given, or `none`. */
static void print_pairs(FILE *out, const char *kw, char *const *paths, int n)
{
    if (n == 0) {
        print_str(out, kw, NULL);
    }
    for (int i = 0; i < n && i < POL_MAX_CERTS; i++) {
        print_str(out, kw, paths[i]);
    }
}

/* A count of bytes as the parser reads it: with the largest suffix (up
 * to `top`, 'M' or 'G') that divides it exactly, or in bytes. */
static void print_scaled(FILE *out, uint64_t n, char top)
{
    const uint64_t g = 1024ull * 1024 * 1024;
    if (top == 'G' && n != 0 && n % g == 0) {
        fprintf(out, "%" PRIu64 "G", n / g);
    } else if (n != 0 && n % (1024 * 1024) == 0) {
        fprintf(out, "%" PRIu64 "M", n / (1024 * 1024));
    } else if (n != 0 && n % 1024 == 0) {
        fprintf(out, "%" PRIu64 "K", n / 1024);
    } else {
        fprintf(out, "%" PRIu64, n);
    }
}

/* rate=: K and M only (no G in its grammar). */
static void print_rate(FILE *out, uint64_t bps)
{
    print_scaled(out, bps, 'M');
}

/* `user NAME root=... access=... tls=... login=...`, the SPEC §5 form, then
 * home= and rate=. */
static void print_user(FILE *out, const struct policy *pol, const struct pol_user *u)
{
    struct pol_effective eff;
    char acc[8];
    const char *login;

    pol_effective(pol, u, &eff);
    pol_access_letters(eff.access, acc, sizeof(acc));
    if (u->anonymous) {
        login = "anonymous";
    } else if (u->has_password && u->has_cert) {
        login = "password+cert";
    } else if (u->has_cert) {
        login = "cert";
    } else {
        login = "password";
    }
    fprintf(out, "user %s root=", u->name);
    print_value(out, eff.root);
    fprintf(out, " access=%s tls=%s login=%s", acc, pol_tls_name(eff.tls), login);
    fputs(" home=", out);
    print_value(out, eff.home);
    fputs(" rate=", out);
    print_rate(out, eff.rate_down);
    fputc('/', out);
    print_rate(out, eff.rate_up);
    if (u->group >= 0 && (size_t)u->group < pol->ngroups) {
        fprintf(out, " group=%s", pol->groups[u->group].name);
    }
    fputc('\n', out);
}

/* `max-sessions` and `max-per-ip`: a count, or `none` for no limit. */
static void print_limit(FILE *out, const char *kw, unsigned n)
{
    if (n == 0) {
        fprintf(out, "%s none\n", kw);
    } else {
        fprintf(out, "%s %u\n", kw, n);
    }
}

static void print_hash(FILE *out, const struct policy *pol)
{
    fputs("hash", out);
    if (pol->nhash == 0) {
        fputs(" off", out);
    }
    for (unsigned i = 0; i < pol->nhash && i < POL_HASH_ALGOS; i++) {
        fprintf(out, " %s", pol_hash_name(pol->hash[i]));
    }
    fputc('\n', out);
    fputs("hash-limit ", out);
    if (pol->hash_limit == 0) {
        fputs("none", out);
    } else {
        print_scaled(out, pol->hash_limit, 'G');
    }
    fputc('\n', out);
}

void pol_print(const struct policy *pol, FILE *out)
{
    print_pairs(out, "cert", pol->cert, pol->ncert);
    print_pairs(out, "key", pol->key, pol->nkey);
    print_str(out, "client-ca", pol->client_ca);
    print_choice(out, "client-cert", (int)pol->client_cert);
    print_choice(out, "tls", (int)pol->tls);
    print_choice(out, "tls-min", pol->tls_min);
    print_choice(out, "tls-max", pol->tls_max);
    fputs("ciphers", out);
    if (pol->ciphers == NULL) {
        fputs(" default", out);
    }
    for (size_t i = 0; pol->ciphers != NULL && i < pol->nciphers; i++) {
        fputc(' ', out);
        print_value(out, pol->ciphers[i]);
    }
    fputc('\n', out);
    print_choice(out, "implicit", pol->implicit);
    print_choice(out, "data-reuse", pol->data_reuse_required);
    print_choice(out, "renegotiate", pol->renegotiate_client);
    print_choice(out, "ktls", pol->ktls);
    print_str(out, "keylog", pol->keylog);
    print_str(out, "run-as", pol->run_as);
    print_str(out, "chroot", pol->chroot);
    print_choice(out, "sandbox", pol->sandbox);
    if (pol->pasv_lo == 0 && pol->pasv_hi == 0) {
        fputs("pasv-ports kernel\n", out);
    } else {
        fprintf(out, "pasv-ports %u-%u\n", pol->pasv_lo, pol->pasv_hi);
    }
    fprintf(out, "pasv-address %s", pol->pasv_public.name != NULL ? pol->pasv_public.name : "none");
    if (pol->pasv_public.name != NULL && pol->pasv_private.name != NULL) {
        fprintf(out, " %s", pol->pasv_private.name);
    }
    fputc('\n', out);
    print_choice(out, "active", pol->active_peer);
    print_choice(out, "fxp", pol->fxp);
    print_hash(out, pol);
    fprintf(out, "idle %u\n", pol->idle);
    fprintf(out, "login-grace %u\n", pol->login_grace);
    fprintf(out, "max-tries %u\n", pol->max_tries);
    print_limit(out, "max-sessions", pol->max_sessions);
    print_limit(out, "max-per-ip", pol->max_per_ip);
    print_str(out, "runtime-dir", pol->runtime_dir != NULL ? pol->runtime_dir : DEFS_RUNTIME_DIR);
    fprintf(out, "umask %03o\n", (unsigned)pol->umask);
    print_choice(out, "upload", pol->upload_atomic);
    print_choice(out, "log", (int)pol->log);
    print_choice(out, "log-level", (int)pol->log_level);
    print_str(out, "xferlog", pol->xferlog);
    print_str(out, "banner", pol->banner);
    for (size_t i = 0; i < pol->nusers; i++) {
        print_user(out, pol, &pol->users[i]);
    }
}

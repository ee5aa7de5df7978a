/* Known PBKDF2-HMAC-SHA256 answers for check_passwd.c. RFC 7914 §11 gives
 * the first two; the rest were computed with Python's
 * hashlib.pbkdf2_hmac('sha256', P, S, c, dkLen) (OpenSSL underneath), so
 * they are an implementation independent of mbed TLS. */
#ifndef FTPSD_VECTORS_PBKDF2_H
#define FTPSD_VECTORS_PBKDF2_H

#include <stddef.h>
#include <stdint.h>

struct pbkdf2_vector {
    const char *name;
    const char *pw;
    size_t pwlen; /* 0 with a non-empty pw: use strlen */
    const char *salt;
    uint32_t iterations;
    size_t dklen;
    const char *hex;
};

static const struct pbkdf2_vector pbkdf2_vectors[] = {
    {"rfc7914 passwd/salt c=1", "passwd", 0, "salt", 1, 64,
     "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
     "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"},
    {"rfc7914 Password/NaCl c=80000", "Password", 0, "NaCl", 80000, 64,
     "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
     "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"},
    {"password/salt c=1", "password", 0, "salt", 1, 32,
     "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"},
    {"password/salt c=2", "password", 0, "salt", 2, 32,
     "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"},
    {"password/salt c=4096", "password", 0, "salt", 4096, 32,
     "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"},
    {"long pw and salt, dkLen 40", "passwordPASSWORDpassword", 0,
     "saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096, 40,
     "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9"},
    /* 64 bytes is one HMAC block: used as is; 65 is hashed first (RFC 2104). */
    {"64-byte password", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 0,
     "salt", 1000, 32, "94efbf499329c0aaa1d5374b3d29083d0f6e423b6ee14c8f29f79342949a3d2f"},
    {"65-byte password", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 0,
     "salt", 1000, 32, "7a376e3c42d7a023046642e9868ba805fe08a73c53e2c489a4a06279d921a43e"},
    {"empty password", "", 0, "salt", 1000, 32,
     "94fb56af3ea22e5d3ed1b054085b136ca301b75d8b406c802c489479f27387c6"},
};

#endif

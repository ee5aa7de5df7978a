/* mbedtls_config_router.h — the mbed TLS 3.6 configuration of the router
 * build (`make embedded`, `make cross`): only what ftpsd uses, so that the
 * static binary fits a router's flash. mk/embedded.mk compiles both mbed
 * TLS and ftpsd with -DMBEDTLS_CONFIG_FILE pointing here (the two must
 * agree: structure layouts depend on it).
 *
 * What it keeps: a TLS server (no client, no DTLS) for TLS 1.2 and 1.3,
 * ECDHE with X25519 and P-256, ChaCha20-Poly1305 and AES-GCM, ECDSA and RSA
 * certificates and client certificates, session tickets (TLS 1.3 data
 * connections resume by ticket) and the session cache hooks (TLS 1.2),
 * ALPN, SNI, extended master secret, key export (kernel TLS, keylog),
 * `--gen-cert` (ECDSA P-256 key and X.509 writing), and the HASH command's
 * digests. What each option costs the x86-64 binary is in the README's
 * size table ("A router-sized build").
 *
 * TLS 1.3 in mbed TLS 3.6 needs the PSA crypto core (its key schedule and
 * ECDHE go through PSA); the PSA algorithms are derived from the legacy
 * options below (no MBEDTLS_PSA_CRYPTO_CONFIG), so PSA holds exactly the
 * same algorithms and nothing more. Deliberately off: MBEDTLS_USE_PSA_CRYPTO
 * (TLS 1.2 through PSA as well: 13 KB more), MBEDTLS_ERROR_C (13 KB of
 * strings; tls_fmt_error prints the code), AES-NI (the kernel does bulk AES
 * where it has kTLS, and routers have none), the TLS client. */
#ifndef FTPSD_MBEDTLS_CONFIG_ROUTER_H
#define FTPSD_MBEDTLS_CONFIG_ROUTER_H

/* ---- platform */
#define MBEDTLS_HAVE_ASM       /* bignum multiply in assembly: faster handshakes, tiny */
#define MBEDTLS_HAVE_TIME      /* certificate validity, ticket lifetimes */
#define MBEDTLS_HAVE_TIME_DATE /* certificate validity (-t's expiry warning, client certs) */
#define MBEDTLS_FS_IO          /* certificates and keys are read from files */

/* ---- the TLS server */
#define MBEDTLS_SSL_TLS_C                     /* TLS itself */
#define MBEDTLS_SSL_SRV_C                     /* the server side only: no MBEDTLS_SSL_CLI_C */
#define MBEDTLS_SSL_PROTO_TLS1_2              /* the floor (SPEC §4.5); most FTPS clients */
#define MBEDTLS_SSL_PROTO_TLS1_3              /* TLS 1.3 */
#define MBEDTLS_SSL_TLS1_3_COMPATIBILITY_MODE /* middlebox compatibility: clients send it */
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ENABLED     /* full handshakes */
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_EPHEMERAL_ENABLED /* resumption by ticket */
#define MBEDTLS_SSL_SESSION_TICKETS        /* TLS 1.3 resumption (data-reuse, SPEC §4.5) */
#define MBEDTLS_SSL_TICKET_C               /* the ticket key and its AEAD (tls.c's callbacks) */
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE  /* certificate logins hash the client's DER */
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET /* SPEC §4.5 */
#define MBEDTLS_SSL_RENEGOTIATION          /* policy `renegotiate client` (off by default) */
#define MBEDTLS_SSL_ALPN                   /* ALPN "ftp", the ALPACA mitigation */
#define MBEDTLS_SSL_SERVER_NAME_INDICATION /* SNI is logged and compared with HOST */
#define MBEDTLS_SSL_ALL_ALERT_MESSAGES     /* clients learn why a handshake failed */
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED /* TLS 1.2 suites with ECDSA certificates */
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED   /* TLS 1.2 suites with RSA certificates */

/* ---- ciphers: the product's two AEADs, AES for the DRBG too */
#define MBEDTLS_AES_C            /* AES-GCM suites, CTR_DRBG, ticket AEAD */
#define MBEDTLS_AES_ROM_TABLES   /* tables in flash, not built in RAM by each process */
#define MBEDTLS_AES_FEWER_TABLES /* 6 KB less table for a little speed (kTLS does bulk AES) */
#define MBEDTLS_GCM_C            /* AES-GCM suites, what kernel TLS carries */
#define MBEDTLS_CHACHA20_C       /* ChaCha20-Poly1305 suites: the fastest without AES hardware */
#define MBEDTLS_POLY1305_C       /* ChaCha20-Poly1305 suites */
#define MBEDTLS_CHACHAPOLY_C     /* ChaCha20-Poly1305 suites */
#define MBEDTLS_CIPHER_C         /* the generic cipher layer TLS records go through */

/* ---- hashes */
#define MBEDTLS_MD_C     /* HMAC: TLS PRF, HKDF (tls_ktls.c), ticket keys */
#define MBEDTLS_HKDF_C   /* turns on PSA's HKDF, TLS 1.3's key schedule */
#define MBEDTLS_SHA256_C /* SHA-256 suites, fingerprints, PBKDF2 (passwd.c), HASH */
#define MBEDTLS_SHA384_C /* AES-256-GCM-SHA384 suites, P-384 signatures */
#define MBEDTLS_SHA512_C /* HASH SHA-512 (the same code as SHA-384) */
#define MBEDTLS_SHA1_C   /* HASH SHA-1, --gen-cert's key identifiers, SHA-1-signed CAs */
#define MBEDTLS_MD5_C    /* HASH MD5 (what most FTP clients ask for) */

/* ---- public keys */
#define MBEDTLS_BIGNUM_C                  /* RSA, ECC */
#define MBEDTLS_ECP_C                     /* ECDHE, ECDSA */
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED  /* P-256: ECDHE group, ECDSA certificates, --gen-cert */
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED  /* P-384 ECDSA certificates and client CAs */
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED /* X25519: the first ECDHE group */
#define MBEDTLS_ECP_NIST_OPTIM            /* fast P-256/P-384 reduction: the handshake's CPU */
#define MBEDTLS_ECDH_C                    /* ECDHE */
#define MBEDTLS_ECDSA_C                   /* ECDSA certificates and signatures */
#define MBEDTLS_RSA_C                     /* RSA certificates */
#define MBEDTLS_PKCS1_V15                 /* RSA signatures in TLS 1.2 and in certificates */
#define MBEDTLS_PKCS1_V21                 /* RSA-PSS: TLS 1.3 signs with RSA only this way */
#define MBEDTLS_PK_C                      /* keys */
#define MBEDTLS_PK_PARSE_C                /* reading the key file */
#define MBEDTLS_PK_WRITE_C                /* --gen-cert writes the key; public keys compared */
#define MBEDTLS_PKCS5_C /* an encrypted PKCS#8 key is reported as such; PBKDF2 reference */

/* ---- X.509, PEM, ASN.1 */
#define MBEDTLS_X509_USE_C       /* certificates */
#define MBEDTLS_X509_CRT_PARSE_C /* server certificates, client certificates and CAs */
#define MBEDTLS_X509_CREATE_C    /* --gen-cert */
#define MBEDTLS_X509_CRT_WRITE_C /* --gen-cert */
#define MBEDTLS_PEM_PARSE_C      /* PEM files */
#define MBEDTLS_PEM_WRITE_C      /* --gen-cert writes PEM */
#define MBEDTLS_BASE64_C         /* PEM */
#define MBEDTLS_ASN1_PARSE_C     /* X.509, keys */
#define MBEDTLS_ASN1_WRITE_C     /* X.509 writing, subjectAltName */
#define MBEDTLS_OID_C            /* X.509 */

/* ---- random numbers */
#define MBEDTLS_CTR_DRBG_C   /* the DRBG tls_conf.c seeds from getrandom(2) */
#define MBEDTLS_ENTROPY_C    /* PSA's own generator (psa_crypto_init) */
#define MBEDTLS_PSA_CRYPTO_C /* TLS 1.3's key schedule and ECDHE (required by 3.6) */

#endif

/* FTP reply codes by name (RFC 959, 2228, 2428, 3659, 4217). Handlers
 * use these names only, never bare numbers (STYLE.md habit 5). */
#ifndef FTPSD_CODES_H
#define FTPSD_CODES_H

enum ftp_code {
    FTP_RESTART_MARK = 110,
    FTP_DATA_OPENING = 150,
    FTP_OK = 200,
    FTP_NOT_NEEDED = 202,
    FTP_STAT_SYS = 211,
    FTP_STAT_DIR = 212,
    FTP_STAT_FILE = 213,
    FTP_HELP = 214,
    FTP_SYST = 215,
    FTP_GREETING = 220,
    FTP_GOODBYE = 221,
    FTP_ABOR_OK = 225,
    FTP_TRANSFER_OK = 226,
    FTP_PASV_OK = 227,
    FTP_EPSV_OK = 229,
    FTP_LOGIN_OK = 230,
    FTP_LOGIN_SECDATA = 232,
    FTP_AUTH_OK = 234,
    FTP_FILE_OK = 250,
    FTP_PATH_CREATED = 257,
    FTP_NEED_PASS = 331,
    FTP_NEED_ACCT = 332,
    FTP_PENDING = 350,
    FTP_UNAVAILABLE = 421,
    FTP_CANT_OPEN_DATA = 425,
    FTP_TRANSFER_ABORTED = 426,
    FTP_TLS_RESOURCE = 431,
    FTP_FILE_BUSY = 450,
    FTP_LOCAL_ERROR = 451,
    FTP_NO_SPACE = 452,
    FTP_SYNTAX = 500,
    FTP_SYNTAX_ARG = 501,
    FTP_NOT_IMPL = 502,
    FTP_BAD_SEQUENCE = 503,
    FTP_NOT_IMPL_PARAM = 504,
    FTP_NO_DATA_PROTECTION = 521,
    FTP_EXT_NETWORK = 522,
    FTP_NOT_LOGGED_IN = 530,
    FTP_NEED_ACCT_STOR = 532,
    FTP_CCC_DENIED = 533,
    FTP_POLICY_DENIED = 534,
    FTP_PROT_NOT_SUPPORTED = 536,
    FTP_FILE_UNAVAIL = 550,
    FTP_PAGE_TYPE = 551,
    FTP_EXCEEDED = 552,
    FTP_BAD_NAME = 553,
    FTP_BAD_REST = 554,       /* RFC 3659 §5.4: REST offset invalid for this file */
    FTP_POLICY_REFUSED = 556, /* draft-bryan-ftpext-hash §3.5: refused for policy reasons */
};

#endif

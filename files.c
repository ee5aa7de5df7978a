/* STUB — replaced by the data-channel work. */
#include "cmds.h"
#include "codes.h"
#define STUB(name) void name(struct session *s, const char *arg) { (void)arg; reply(s, FTP_NOT_IMPL, "Not implemented yet"); }
STUB(cmd_retr) STUB(cmd_stor) STUB(cmd_stou) STUB(cmd_appe) STUB(cmd_rest) STUB(cmd_list)
STUB(cmd_nlst) STUB(cmd_mlsd) STUB(cmd_mlst) STUB(cmd_size) STUB(cmd_mdtm) STUB(cmd_dele)
STUB(cmd_mkd) STUB(cmd_rmd) STUB(cmd_rnfr) STUB(cmd_rnto) STUB(cmd_abor)
STUB(files_site_chmod) STUB(files_stat_path)

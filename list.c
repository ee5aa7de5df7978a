/* STUB — replaced by the data-channel work (listings). */
#include "defs.h"
typedef int list_stub_unused_;

// The heap's free memory given back to the system where the C library keeps it: glibc holds on to memory freed in
// many small blocks (a large JSON answer's encoding), so an idle process would keep its peak. Elsewhere a no-op.
#include "internal.h"
#if defined(__GLIBC__)
#include <malloc.h>
void ck_release_free_memory(void) { malloc_trim(0); }
#else
void ck_release_free_memory(void) {}
#endif

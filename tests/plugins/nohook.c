/* SPDX-License-Identifier: MIT */
/*
 * nohook.so - test fixture: a valid shared object that exports a function
 * but no `rpchost_plugin` table.  The host must refuse to load it.
 */
#if defined(__GNUC__)
#define NOHOOK_EXPORT __attribute__((visibility("default")))
#else
#define NOHOOK_EXPORT
#endif

NOHOOK_EXPORT int nohook_answer(void);

NOHOOK_EXPORT int
nohook_answer(void)
{
    return 42;
}

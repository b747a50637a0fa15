/* SPDX-License-Identifier: MIT */
/*
 * hooks.h - plugins' call hooks (plugin.h, ABI 2: add_hooks): on_call
 * before a call's method runs, which may let it go on, answer it, or
 * suspend it until resumed from any thread; on_done after it was answered
 * and counted.  A generation runs its hooked plugins' hooks in config
 * order (generation.h: hooked); with none registered a call pays one test.
 *
 * Where the built-in steps stand (README "Traces and call hooks"):
 * authentication and the allow-list refuse a body before any hook; then
 * for each call the rate limits (admit.h), the on_call hooks, the
 * method's lookup, params validation, its concurrency cap and handler;
 * the answer is counted (metrics), then the on_done hooks run.
 */
#ifndef HOST_HOOKS_H
#define HOST_HOOKS_H

#include "rpchost/plugin.h"

struct call;

/* Loop thread: run c's on_call hooks from c->hook_next on, then its
 * method (dispatch_method), unless a hook answered or suspended it. */
void hooks_call(struct call *c);

/* Loop thread: run c's on_done hooks (c answered and counted). */
void hooks_done(struct call *c, int code, uint64_t duration_us);

/* The API's call_suspend and call_resume (plugin.h). */
int hooks_suspend(rpchost_call *call);
int hooks_resume(rpchost_call *call);

#endif

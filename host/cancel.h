/* SPDX-License-Identifier: MIT */
/*
 * cancel.h - a call's cancellation (plugin.h, ABI 2): the host gives up on
 * a call that left its loop (deferred or suspended) before the plugin
 * answered it - its client went away, its call_timeout passed, a
 * shutdown's drain ended - answers it itself, and tells the
 * plugin: CALL_CANCELLED in the call's flags, which any thread may poll,
 * and the plugin's on_cancel callback, run once on the call's loop, after
 * which the call's pending plugin timers are dropped.
 */
#ifndef HOST_CANCEL_H
#define HOST_CANCEL_H

#include "rpchost/plugin.h"

struct call;

/* api->on_cancel and api->call_cancelled (plugin.h). */
int cancel_register(rpchost_call *call,
                    void (*fn)(rpchost_call *call, void *arg), void *arg);
int cancel_is_cancelled(rpchost_call *call);

/* Loop thread: c was just cancelled (its flags say so) and answered by the
 * host, not yet settled: run its on_cancel callback, if any, then drop its
 * pending timers.  Does nothing without a callback (the timers then run,
 * as for a plugin that knows nothing of cancellation). */
void cancel_run(struct call *c);

struct batch;

/* Loop thread: the request's client went away.  Cancel every call of b
 * (dispatch_body's) still waiting: each is answered -32003 (never sent),
 * its plugin told; the body's `done` runs once the last is settled,
 * usually before this returns (later when a plugin's answer is on its way
 * to the loop). */
void cancel_batch(struct batch *b);

/* Loop thread: arm the deadline of a call that left the loop (deferred
 * or suspended): at call_timeout it is cancelled, answered -32001. */
void cancel_arm_deadline(struct call *c);

#endif

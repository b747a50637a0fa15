/* SPDX-License-Identifier: MIT */
/*
 * rcode.h - the texts of the plugin API's return codes (enum rpchost_rc),
 * for the API table's strerror and for the host's own log lines.
 */
#ifndef HOST_RCODE_H
#define HOST_RCODE_H

/* Text for an enum rpchost_rc value; never NULL. */
const char *rcode_text(int rc);

#endif

/*
 * unit_util.h: helpers shared by the unit tests: SIP messages decoded from
 * text, and a struct sbc with both sides filled in by hand (no sockets).
 */
#ifndef UNIT_UTIL_H
#define UNIT_UTIL_H

#include "sbc.h"

/* Decode "head" (header lines ending in "\n", turned into CRLF; the blank
 * line is added) followed by "body" (raw, may be NULL).  NULL if libre
 * refuses the message. */
struct sip_msg *umsg_decode(const char *head, const char *body);

/* A struct sbc as sbcd sets it up, without listeners: the built-in
 * defaults, access side 127.0.0.1, core side 127.0.0.2, both on 5060 and
 * TLS 5061, and the upstream URI parsed.  Logging only errors. */
int  usbc_init(struct sbc *sbc);
void usbc_close(struct sbc *sbc);

/* After changing side->laddr: update what is derived from it. */
void usbc_side_addr(struct side *side);

/* Replace conf->emergency_route (may be "") and parse it. */
int  usbc_set_emergency_route(struct sbc *sbc, const char *uri);

/* Replace conf->emergency_numbers. */
int  usbc_set_emergency_numbers(struct sbc *sbc, const char *list);

/* Decode a URI from a C string; the URI points into the string. */
int  uuri(struct uri *uri, const char *str);

/* A pl equals a C string exactly. */
bool upl_eq(const struct pl *pl, const char *str);

/* A context with a request, for the tests of the request phases. */
struct ufx {
	struct sbc sbc;
	struct sip_msg *msg;
	struct req_ctx ctx;
};

int ufx_setup(void **state);
int ufx_teardown(void **state);

#endif

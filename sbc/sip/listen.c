/*
 * listen.c: the SIP stacks of the two sides and their UDP/TCP/TLS
 * listeners, with the TLS policy libre 1.1.0 does not apply by itself
 * (TLS 1.2 minimum, upstream certificate and hostname verification, SNI,
 * client-certificate enforcement) and the socket limits sized for load.
 */
#include <dirent.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include "sbc.h"
#include "freebind.h"

static int tls_error(const struct sbc *sbc, const char *what,
		     const char *file)
{
	char buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	LOGE(sbc, "tls: %s '%s': %s", what, file, buf);
	ERR_clear_error();
	return EINVAL;
}

static int tls_load_cert(const struct sbc *sbc, SSL_CTX *ctx,
			 const char *cert, const char *key)
{
	if (!cert || !cert[0])
		return 0;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		return tls_error(sbc, "cannot load certificate", cert);
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		return tls_error(sbc, "cannot load key", key);
	if (SSL_CTX_check_private_key(ctx) != 1)
		return tls_error(sbc, "key does not match certificate", key);
	return 0;
}

static int verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl;
	const struct side *side;
	char subj[256] = "";
	X509 *cert;

	if (ok)
		return ok;

	ssl = X509_STORE_CTX_get_ex_data(xs,
					 SSL_get_ex_data_X509_STORE_CTX_idx());
	side = ssl ? SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) : NULL;
	cert = X509_STORE_CTX_get_current_cert(xs);
	if (cert)
		X509_NAME_oneline(X509_get_subject_name(cert), subj,
				  sizeof(subj));
	if (side)
		LOGW(side->sbc, "tls: %s side: peer certificate rejected: %s "
		     "(depth %d, subject %s, expected name '%s')",
		     side->name,
		     X509_verify_cert_error_string(
			     X509_STORE_CTX_get_error(xs)),
		     X509_STORE_CTX_get_error_depth(xs), subj,
		     side->tls_name ? side->tls_name : "");
	return ok;
}

/* Connections we open get SNI, hostname check and chain verification;
 * libre 1.1.0 keeps its tls_conn private, so this is applied per SSL as
 * the handshake starts, before the ClientHello is written. */
static void info_cb(const SSL *cssl, int where, int ret)
{
	SSL *ssl = (SSL *)cssl;
	const struct side *side;
	(void)ret;

	if (!(where & SSL_CB_HANDSHAKE_START) || SSL_is_server(ssl))
		return;
	side = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	if (!side || !side->tls_name)
		return;
	if (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER)
		return;         /* already set up: a TLS 1.3 ticket, etc. */

	(void)SSL_set_tlsext_host_name(ssl, side->tls_name);
	(void)SSL_set1_host(ssl, side->tls_name);
	SSL_set_verify(ssl, SSL_VERIFY_PEER, verify_cb);
}

static int side_tls(struct side *side, const char *cert, const char *key)
{
	const struct sbc_conf *conf = side->sbc->conf;
	SSL_CTX *ctx;
	int err;

	err = tls_alloc(&side->tls, TLS_METHOD_SSLV23, NULL, NULL);
	if (err)
		return err;
	ctx = tls_openssl_context(side->tls);
	SSL_CTX_set_app_data(ctx, side);
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
		return tls_error(side->sbc, "cannot require TLS 1.2", "");

	err = tls_load_cert(side->sbc, ctx, cert, key);
	if (err)
		return err;

	if (side->id == SIDE_ACCESS && conf->access_tls_verify_client) {
		if (SSL_CTX_load_verify_locations(ctx, conf->access_tls_ca,
						  NULL) != 1)
			return tls_error(side->sbc, "cannot load CA",
					 conf->access_tls_ca);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER
				   | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
				   verify_cb);
	}
	if (side->id == SIDE_CORE && side->tls_name) {
		if (SSL_CTX_load_verify_locations(ctx, conf->upstream_ca,
						  NULL) != 1)
			return tls_error(side->sbc, "cannot load CA",
					 conf->upstream_ca);
		SSL_CTX_set_info_callback(ctx, info_cb);
	}
	return 0;
}

/* libre hard-codes a listen backlog of 5 and hides its sockets: find
 * ours by local address and fix them up. */
static void tune_sockets(struct side *side, const struct sa *laddr)
{
	const struct sbc_conf *conf = side->sbc->conf;
	struct dirent *de;
	DIR *d;

	d = opendir("/proc/self/fd");
	if (!d)
		return;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name), type = 0, acc = 0, buf;
		socklen_t tl = sizeof(type), al = sizeof(acc);
		struct sa sa;

		if (fd <= 2)
			continue;
		sa_init(&sa, AF_UNSPEC);
		if (getsockname(fd, &sa.u.sa, &sa.len) < 0
		    || !sa_cmp(&sa, laddr, SA_ALL))
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0)
			continue;
		if (type == SOCK_DGRAM) {
			side->udp_fd = fd;
			buf = (int)conf->udp_sockbuf;
			if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf,
				       sizeof(buf)) < 0)
				(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF,
						 &buf, sizeof(buf));
			if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf,
				       sizeof(buf)) < 0)
				(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF,
						 &buf, sizeof(buf));
		}
		else if (!getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al)
			 && acc) {
			(void)listen(fd, (int)conf->tcp_backlog);
		}
	}
	closedir(d);
}

static int side_listen(struct side *side, enum sip_transp tp, uint16_t port)
{
	struct sa laddr = side->laddr;
	int err;

	sa_set_port(&laddr, port);
	/* the UDP socket libre opens here is handed to wire.c */
	wire_adding(side);
	if (tp == SIP_TRANSP_TLS)
		err = sip_transp_add(side->sip, tp, &laddr, side->tls);
	else
		err = sip_transp_add(side->sip, tp, &laddr);
	wire_adding(NULL);
	if (err) {
		LOGE(side->sbc, "%s side: cannot listen on %s %J: %m",
		     side->name, sip_transp_name(tp), &laddr, err);
		return err;
	}
	if (tp == SIP_TRANSP_TLS && !port) {
		/* ephemeral: learn the port libre's listener got */
		(void)sip_transp_laddr(side->sip, &laddr, tp, &laddr);
		side->tls_port = sa_port(&laddr);
	}
	tune_sockets(side, &laddr);
	LOGI(side->sbc, "%s side: listening on %s %J", side->name,
	     sip_transp_name(tp), &laddr);
	return 0;
}

/* The name the upstream's certificate must carry (upstream_tls_name, or
 * the upstream's host), or NULL if the upstream is not reached over TLS. */
int listen_tls_name(char **namep, const struct sbc_conf *conf,
		    const struct uri *upstream)
{
	struct pl tp;

	*namep = NULL;
	if (msg_param_decode(&upstream->params, "transport", &tp)
	    || pl_strcasecmp(&tp, "tls"))
		return 0;
	if (conf->upstream_tls_name[0])
		return str_dup(namep, conf->upstream_tls_name);
	return pl_strdup(namep, &upstream->host);
}

static int side_init(struct sbc *sbc, struct side *side, enum side_id id)
{
	const struct sbc_conf *conf = sbc->conf;
	const char *cert, *key;
	bool tls;
	int err;

	side->id = id;
	side->sbc = sbc;
	side->udp_fd = -1;
	side->name = id == SIDE_ACCESS ? "access" : "core";
	side->laddr = id == SIDE_ACCESS ? conf->access_addr : conf->core_addr;
	side->port = id == SIDE_ACCESS ? conf->access_port : conf->core_port;
	side->tls_port = id == SIDE_ACCESS ? conf->access_tls_port
					   : conf->core_tls_port;
	(void)re_snprintf(side->laddr_str, sizeof(side->laddr_str), "%j",
			  &side->laddr);
	cert = id == SIDE_ACCESS ? conf->access_tls_cert : conf->core_tls_cert;
	key = id == SIDE_ACCESS ? conf->access_tls_key : conf->core_tls_key;

	tls = side->tls_port != 0;
	if (id == SIDE_CORE) {
		err = listen_tls_name(&side->tls_name, conf,
				      &sbc->hop.upstream);
		if (err)
			return err;
		tls = tls || side->tls_name;
	}

	err = sip_alloc(&side->sip, sbc->dnsc, conf->hash_size,
			conf->hash_size, conf->hash_size,
			"sbc/" SBC_VERSION, NULL, sbc); /* trace.c's arg */
	if (err)
		return err;

	err = side_listen(side, SIP_TRANSP_UDP, side->port);
	err = err ? err : side_listen(side, SIP_TRANSP_TCP, side->port);
	if (!err && tls) {
		err = side_tls(side, cert, key);
		err = err ? err : side_listen(side, SIP_TRANSP_TLS,
					      side->tls_port);
	}
	if (err)
		return err;

	err = sip_listen(&side->lsnr_req, side->sip, true, recv_request, side);
	err = err ? err : sip_listen(&side->lsnr_rsp, side->sip, false,
				     recv_response, side);
	return err;
}

int listen_init(struct sbc *sbc)
{
	int err;

	wire_init(sbc);
	for (int i = 0; i < SIDE_COUNT; i++) {
		err = side_init(sbc, &sbc->side[i], (enum side_id)i);
		if (err)
			return err;
	}
	return 0;
}

/*
 * The connections opened by the next sends (NULL: none) leave from SIDE's
 * address, the service address the peer knows, not from the node's own
 * (freebind.c).  A wildcard listen address leaves it to the kernel.
 */
static __thread const struct sa *source;
static __thread const struct side *source_side;

void listen_source(const struct side *side)
{
	source_side = side;
	source = side && sa_isset(&side->laddr, SA_ADDR)
		 && !sa_is_any(&side->laddr) ? &side->laddr : NULL;
}

/* The side the SIP code sends on now (wire.c: the connections it opens
 * meanwhile are that side's). */
const struct side *listen_source_side(void)
{
	return source_side;
}

const struct sockaddr *freebind_source_get(socklen_t *len)
{
	if (!source)
		return NULL;
	*len = source->len;
	return &source->u.sa;
}

void listen_close(struct sbc *sbc)
{
	for (int i = 0; i < SIDE_COUNT; i++) {
		struct side *side = &sbc->side[i];

		side->lsnr_req = mem_deref(side->lsnr_req);
		side->lsnr_rsp = mem_deref(side->lsnr_rsp);
		if (side->sip)
			sip_close(side->sip, true);
		side->sip = mem_deref(side->sip);
		side->tls = mem_deref(side->tls);
		side->tls_name = mem_deref(side->tls_name);
	}
	wire_close(sbc);
}

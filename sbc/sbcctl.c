/*
 * sbcctl: the command line of sbcd's control socket.  Sends its
 * arguments as one request line and prints the answer; exits 0 when the
 * answer ends in OK.  Without -s it talks to the first of the default
 * sockets that exists: the Debian package's (/run/sbc/sbcd.sock), then
 * sbcd's own default (sbcd.sock beside /etc/sbc/sbc.conf).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>

static const char *const defaultv[] = {
	"/run/sbc/sbcd.sock",   /* the Debian package's sbc.conf */
	"/etc/sbc/sbcd.sock",   /* sbcd's default control_socket, sbc.conf */
};

static int usage(FILE *f)
{
	fprintf(f,
		"usage: sbcctl [-s SOCKET] COMMAND [ARGS]\n"
		"  stats | events | bans | unban IP | calls | bindings | counters\n"
		"  media | reload\n"
		"  role                   active, standby or standalone; "
		"synced; peers; lag\n"
		"  role active [--force]  take over (only a synced standby, "
		"unless forced)\n"
		"  role standby           stop sending, follow the active\n"
		"  blacklist list\n"
		"  blacklist add NAME FIELD MATCH ACTION SECONDS VALUE\n"
		"      FIELD: source number from from_user display_name "
		"user_agent\n"
		"      MATCH: exact prefix substring regex; ACTION: drop 403 "
		"log\n"
		"      SECONDS until the rule expires, 0: never\n"
		"  blacklist del NAME\n"
		"SOCKET (control_socket): default the first that exists of\n"
		"  %s, %s\n", defaultv[0], defaultv[1]);
	return f == stdout ? 0 : 2;
}

int main(int argc, char *argv[])
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	const char *path = NULL;
	char line[4096] = "", buf[4096], last[256] = "";
	size_t len = 0;
	ssize_t n;
	int i = 1, fd;

	if (argc > 2 && !strcmp(argv[1], "-s")) {
		path = argv[2];
		i = 3;
	}
	if (i < argc && (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")))
		return usage(stdout);
	if (i >= argc)
		return usage(stderr);
	if (!path) {
		size_t k;

		for (k = 0; k < sizeof(defaultv) / sizeof(defaultv[0]); k++) {
			if (!access(defaultv[k], F_OK) || errno != ENOENT) {
				path = defaultv[k];
				break;
			}
		}
		if (!path) {
			fprintf(stderr, "sbcctl: no control socket at %s nor %s "
				"(give -s SOCKET: sbcd's control_socket)\n",
				defaultv[0], defaultv[1]);
			return 1;
		}
	}
	for (; i < argc; i++) {
		int w = snprintf(line + len, sizeof(line) - len, "%s%s",
				 len ? " " : "", argv[i]);
		if (w < 0 || (size_t)w >= sizeof(line) - len - 1) {
			fprintf(stderr, "sbcctl: command too long\n");
			return 2;
		}
		len += (size_t)w;
	}
	line[len++] = '\n';

	if (strlen(path) >= sizeof(un.sun_path))
		return usage(stderr);
	strcpy(un.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&un, sizeof(un)) < 0) {
		perror(path);
		return 1;
	}
	if (write(fd, line, len) != (ssize_t)len) {
		perror("write");
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		fwrite(buf, 1, (size_t)n, stdout);
		/* keep the tail to find the last line */
		size_t keep = (size_t)n < sizeof(last) - 1 ? (size_t)n
							  : sizeof(last) - 1;
		memcpy(last, buf + n - keep, keep);
		last[keep] = '\0';
	}
	close(fd);
	len = strlen(last);
	while (len && last[len - 1] == '\n')
		last[--len] = '\0';
	{
		const char *l = strrchr(last, '\n');

		l = l ? l + 1 : last;
		return strcmp(l, "OK") ? 1 : 0;
	}
}

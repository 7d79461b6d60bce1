/*
 * log.h: leveled log lines on stderr (journald/syslog pick them up).
 * Format strings are libre's: %r prints a struct pl, %J a struct sa.
 */
#ifndef SBC_LOG_H
#define SBC_LOG_H

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

struct sbc;

void slog(const struct sbc *sbc, enum log_level lvl, const char *fmt, ...);
void slog_remote(struct sbc *sbc, enum log_level lvl, const char *fmt, ...);
void log_close(struct sbc *sbc);
int  log_level_parse(const char *s, enum log_level *lvl);

#define LOGE(sbc, ...) slog((sbc), LOG_ERROR, __VA_ARGS__)
#define LOGW(sbc, ...) slog((sbc), LOG_WARN, __VA_ARGS__)
#define LOGI(sbc, ...) slog((sbc), LOG_INFO, __VA_ARGS__)
#define LOGD(sbc, ...) slog((sbc), LOG_DEBUG, __VA_ARGS__)
/* a line remote input causes, one a message: within log_remote_rate */
#define LOGRI(sbc, ...) slog_remote((sbc), LOG_INFO, __VA_ARGS__)
#define LOGRW(sbc, ...) slog_remote((sbc), LOG_WARN, __VA_ARGS__)

#endif

/*
 * The runtime that every validator links.  It contains the process start
 * (socket at fd 3 from ca-core, or --listen PATH) and the libevent serve
 * loop for the framed protocol of proto/msg.h.  It also provides
 * per-validation deadlines, logging, the sandbox hook, and input checks
 * shared by the challenge types.
 *
 * A validator supplies a struct validator and calls runtime_main().  For
 * each "validate" request the runtime calls start() with a validation
 * object.  The validator sends one result with validation_finish(),
 * or the runtime gives up first (deadline, connection closed, shutdown)
 * and calls the cancel hook that the validator registered.
 */
#ifndef VALIDATOR_RUNTIME_H
#define VALIDATOR_RUNTIME_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

struct event_base;
struct validation;

/* Defaults and bounds for the options of a validate request. */
#define VALIDATION_DEFAULT_TIMEOUT_MS	10000
#define VALIDATION_MAX_TIMEOUT_MS	60000
#define VALIDATION_DEFAULT_HTTP_PORT	80
#define VALIDATION_DEFAULT_TLS_PORT	443
/* Maximum token length accepted.  ca-core issues 43-character tokens (32
 * random bytes in base64url), so 128 leaves room but still bounds input. */
#define VALIDATION_MAX_TOKEN_LEN	128
#define VALIDATION_MAX_KEYAUTH_LEN	512
#define VALIDATION_MAX_IDENTIFIER_LEN	253
#define VALIDATION_MAX_RESOLVER_LEN	64

/* ACME problem types (RFC 8555 section 6.7) that validators use. */
#define PROBLEM_CONNECTION	"urn:ietf:params:acme:error:connection"
#define PROBLEM_DNS		"urn:ietf:params:acme:error:dns"
#define PROBLEM_MALFORMED	"urn:ietf:params:acme:error:malformed"
#define PROBLEM_UNAUTHORIZED	"urn:ietf:params:acme:error:unauthorized"
#define PROBLEM_SERVER_INTERNAL	"urn:ietf:params:acme:error:serverInternal"
#define PROBLEM_INCORRECT_RESPONSE \
	"urn:ietf:params:acme:error:incorrectResponse"

enum validation_status {
	VALIDATION_VALID,
	VALIDATION_INVALID
};

enum identifier_type {
	IDENTIFIER_DNS,
	IDENTIFIER_IP,
	IDENTIFIER_OTHER	/* e.g. permanent-identifier; see the name */
};

/* The parsed fields of one validate request.  Every string belongs to the
 * validation and lives until it finishes or is cancelled. */
struct validation_request {
	const char		*id;
	const char		*challenge_type;
	const char		*token;
	const char		*key_authorization;
	enum identifier_type	 identifier_type;
	const char		*identifier_type_name;	/* as sent */
	const char		*identifier;		/* identifier value */
	const char		*account_thumbprint;	/* NULL when absent */
	int			 http_port;
	int			 tls_port;
	const char		*resolver;	/* "HOST:PORT", NULL = system */
	int			 timeout_ms;	/* clamped to the maximum */
	struct json_object	*message;	/* the whole request */
};

/* A validator: its identity, the challenge types it serves, and the
 * function that starts one validation.  start() must not block; it either
 * calls validation_finish() (possibly before returning) or registers a
 * cancel hook and finishes later from the event loop. */
struct validator {
	const char		*name;
	const char		*version;
	const char *const	*challenge_types;
	size_t			 nchallenge_types;
	void			(*start)(struct validation *);
	/* Optional: release process-wide state (resolver contexts) after
	 * every validation has finished or been cancelled, before the event
	 * base is freed. */
	void			(*stop)(void);
	/* Socket families (AF_INET, AF_INET6) that socket(2) may create once
	 * the sandbox is entered.  None (the zero default) denies every
	 * socket(2) call and skips the system resolver, for validators with
	 * no network work. */
	const int		*socket_families;
	size_t			 nsocket_families;
	/* System calls (SCMP_SYS(name) numbers) that this validator needs
	 * beyond the runtime's own allow-list. */
	const int		*extra_syscalls;
	size_t			 nextra_syscalls;
};

/* Called when the runtime gives up on a validation that has not finished:
 * its deadline passed, its connection closed, or the process is stopping.
 * The hook releases the validator's state synchronously and must not call
 * validation_finish(); the runtime frees the validation right after. */
typedef void validation_cancel_fn(struct validation *, void *arg);

/*
 * Run the validator: parse argv (--listen PATH, --help, --version), set up
 * the socket, call runtime_prepare(), create the event loop, call
 * runtime_sandbox(), serve until EOF on fd 3 or SIGTERM.
 * Returns the process exit status: 0 on a clean stop, 1 when the serving
 * socket, the sandbox or the event loop failed or ca-core broke the
 * protocol, 2 on a usage error.
 */
int	 runtime_main(const struct validator *, int argc, char **argv);

/*
 * Acquire what the sandbox will forbid later: close every descriptor
 * except 0, 1, 2 and keep_fd (-1 for none), and when the validator
 * declares socket families, create the system resolver's context from
 * /etc/resolv.conf and /etc/hosts.  Returns 0, or -1 (logged) when
 * closing descriptors failed.  A system resolver that cannot be set up is
 * a warning: lookups without a resolver option then fail.
 */
int	 runtime_prepare(const struct validator *, int keep_fd);

/*
 * Restrict the process before it reads its first request (sandbox.c).
 * The steps are rlimits, no_new_privs, as root a chroot into an empty
 * directory and the switch to the user acmeca-validator, and Landlock.
 * The seccomp filter comes last, built from the validator's socket
 * families and extra system calls.
 * Call it with one thread only.  Returns 0, or -1 (logged with the step
 * and errno) when a step fails, which the caller treats as fatal.
 */
int	 runtime_sandbox(const struct validator *);

/* Accessors.  The request and the event base belong to the runtime. */
const struct validation_request *validation_request(const struct validation *);
struct event_base *validation_base(const struct validation *);
/* Milliseconds left before the deadline, at least 0. */
int64_t	 validation_remaining_ms(const struct validation *);

/* Register (or with fn NULL, clear) the cancel hook. */
void	 validation_set_cancel(struct validation *, validation_cancel_fn *fn,
	    void *arg);

/* Set the problem sent when the deadline passes, for the step now in
 * progress (e.g. a DNS problem while resolving).  problem_type must be a
 * string constant; detail is copied and " after N ms" appended.  The
 * default is a connection problem "validation timed out". */
void	 validation_set_timeout_problem(struct validation *,
	    const char *problem_type, const char *detail);

/* Store the records gathered so far (an array, taken over, replacing and
 * putting any earlier one), so that a result sent on timeout has them. */
void	 validation_set_records(struct validation *, struct json_object *);

/*
 * Send the result and free the validation; v must not be used afterwards.
 * problem_type and detail are used for VALIDATION_INVALID only.  records
 * (an array or NULL) is taken over; NULL sends the records stored with
 * validation_set_records().  When the connection has closed the result
 * is dropped.
 */
void	 validation_finish(struct validation *v, enum validation_status,
	    const char *problem_type, const char *detail,
	    struct json_object *records);

/* Log one line to stderr tagged with the request id and identifier. */
void	 validation_log(const struct validation *, int level,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Levels for vlog() and validation_log(), named as in the log message of
 * the protocol. */
enum vlog_level { VLOG_ERROR = 0, VLOG_WARN, VLOG_INFO, VLOG_DEBUG };

/* Set the program name printed on each line and the lowest level printed
 * (info by default; CA_LOG_LEVEL=error|warn|info|debug overrides it). */
void	 vlog_init(const char *progname);
void	 vlog(int level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 vlogv(int level, const char *fmt, va_list ap);

/*
 * Input checks (check.c).  Each returns 1 when the value is acceptable and
 * 0 otherwise.
 */
/* 1..VALIDATION_MAX_TOKEN_LEN characters of the base64url alphabet. */
int	 check_token(const char *token);
/* A host name of LDH labels: 1..63 bytes each, no leading or trailing
 * hyphen, at most 253 bytes, no wildcard, no final
 * dot (ACME identifiers are written without it), and not an IPv4
 * address. */
int	 check_dns_name(const char *name);
/* An IPv4 or IPv6 literal; *family is set to AF_INET or AF_INET6. */
int	 check_ip(const char *text, int *family);
/*
 * Parse a resolver option "IP:PORT", "[IPv6]:PORT" or a bare IP (port 53)
 * into libunbound's "IP@PORT" form in out.  Returns 0, or -1 when the
 * value is not of that form.
 */
int	 check_resolver(const char *text, char *out, size_t outlen);

/* Copy untrusted bytes into buf for logs and problem details: at most
 * max_in input bytes, with control characters, quotes, backslashes and
 * non-ASCII bytes as \xNN, and "..." appended when the input was cut.
 * buf is always NUL-terminated.  Returns buf. */
const char *escape_text(const uint8_t *text, size_t len, size_t max_in,
	    char *buf, size_t buflen);

#endif

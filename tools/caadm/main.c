/*
 * caadm's entry point: global options and command dispatch.
 *
 * Usage: caadm [--home DIR] COMMAND [ARGS...].  --home may also follow
 * the command; main() removes it from the arguments before it calls the
 * command, and commands read it from caadm_home_flag (caadm.h).  Exit
 * status: 0 on success, 1 when a command fails, 2 on a usage error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caadm.h"
#include "log.h"
#include "version.h"

const char *caadm_home_flag;

struct caadm_command {
	const char	*name;
	int		(*run)(int, char **);
	const char	*summary;
};

static const struct caadm_command caadm_commands[] = {
	{ "init", cmd_init,
	    "create a CA: root and intermediate, database, config.json" },
	{ "provisioner", cmd_provisioner,
	    "add, update, list or remove ACME provisioners" },
	{ "eab", cmd_eab,
	    "add, list or remove External Account Binding keys" },
	{ "certificate", cmd_certificate,
	    "obtain a certificate and key from an ACME provisioner" },
	{ "db", cmd_db,
	    "show, start or stop the embedded PostgreSQL cluster" },
};

#define CAADM_NCOMMANDS	(sizeof(caadm_commands) / sizeof(caadm_commands[0]))

static void
caadm_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: caadm [--home DIR] COMMAND [ARGS...]\n\n"
	    "Commands:\n");
	for (i = 0; i < CAADM_NCOMMANDS; i++)
		fprintf(f, "  %-13s %s\n", caadm_commands[i].name,
		    caadm_commands[i].summary);
	fprintf(f, "\nOptions:\n"
	    "  --home DIR    the CA's home folder (default: $CA_HOME)\n"
	    "  --help        show this help\n"
	    "  --version     show the version\n\n"
	    "Run caadm COMMAND --help for the options of a command.\n");
}

static const struct caadm_command *
caadm_find(const char *name)
{
	size_t i;

	for (i = 0; i < CAADM_NCOMMANDS; i++)
		if (strcmp(caadm_commands[i].name, name) == 0)
			return &caadm_commands[i];
	return NULL;
}

/*
 * Copy argv without the program name and without "--home DIR" or
 * "--home=DIR" anywhere before a "--".  Returns the new argc, or -1 when
 * --home has no value.
 */
static int
caadm_strip_home(int argc, char **argv, char **out)
{
	int i, n = 0, rest = 0;

	for (i = 1; i < argc; i++) {
		if (!rest && strcmp(argv[i], "--") == 0)
			rest = 1;
		if (!rest && strcmp(argv[i], "--home") == 0) {
			if (i + 1 >= argc || argv[i + 1][0] == '\0')
				return -1;
			caadm_home_flag = argv[++i];
			continue;
		}
		if (!rest && strncmp(argv[i], "--home=", 7) == 0) {
			if (argv[i][7] == '\0')
				return -1;
			caadm_home_flag = argv[i] + 7;
			continue;
		}
		out[n++] = argv[i];
	}
	out[n] = NULL;
	return n;
}

int
main(int argc, char **argv)
{
	const struct caadm_command *cmd;
	char *help_argv[3];
	char **args;
	int n, status;

	log_init("caadm");
	if ((args = calloc((size_t)argc + 1, sizeof(*args))) == NULL) {
		fprintf(stderr, "caadm: out of memory\n");
		return 1;
	}
	if ((n = caadm_strip_home(argc, argv, args)) == -1) {
		fprintf(stderr, "caadm: --home needs a folder, as in "
		    "--home /var/lib/ca\n");
		free(args);
		return 2;
	}

	if (n == 0 || strcmp(args[0], "--help") == 0 ||
	    strcmp(args[0], "-h") == 0) {
		caadm_usage(n == 0 ? stderr : stdout);
		free(args);
		return n == 0 ? 2 : 0;
	}
	if (strcmp(args[0], "--version") == 0) {
		printf("caadm %s\n", CA_VERSION);
		free(args);
		return 0;
	}

	/* "caadm help COMMAND" is "caadm COMMAND --help". */
	if (strcmp(args[0], "help") == 0) {
		if (n < 2) {
			caadm_usage(stdout);
			free(args);
			return 0;
		}
		help_argv[0] = args[1];
		help_argv[1] = (char *)(uintptr_t)"--help";
		help_argv[2] = NULL;
		if ((cmd = caadm_find(args[1])) != NULL) {
			free(args);
			return cmd->run(2, help_argv);
		}
		args[0] = args[1];
	}

	if ((cmd = caadm_find(args[0])) == NULL) {
		fprintf(stderr, "caadm: unknown %s \"%s\"; run caadm --help "
		    "for the list of commands and options\n",
		    args[0][0] == '-' ? "option" : "command", args[0]);
		free(args);
		return 2;
	}
	status = cmd->run(n, args);
	free(args);
	return status;
}

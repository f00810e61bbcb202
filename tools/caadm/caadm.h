/*
 * caadm: the administration tool and built-in ACME client.  Each command
 * is a function taking its own argv (argv[0] is the command name) and
 * returning the process exit status.
 */
#ifndef CAADM_H
#define CAADM_H

/* --home DIR, if given before the command, else NULL (CA_HOME applies). */
extern const char *caadm_home_flag;

struct ca_config;
struct pg_conn;

int	 cmd_init(int argc, char **argv);
int	 cmd_eab(int argc, char **argv);
int	 cmd_provisioner(int argc, char **argv);
int	 cmd_certificate(int argc, char **argv);
int	 cmd_db(int argc, char **argv);

/* provisioner.c: load the config of the CA home and connect to its
 * database, migrating the schema if needed.  command names the caadm
 * command in error messages.  Returns the connection and the config in
 * *cfgp (config_free), or NULL after a message. */
struct pg_conn *caadm_connect(const char *command, struct ca_config **cfgp);

#endif

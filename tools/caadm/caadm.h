/*
 * caadm: the administration tool and built-in ACME client.  Each command
 * is a function taking its own argv (argv[0] is the command name) and
 * returning the process exit status.
 */
#ifndef CAADM_H
#define CAADM_H

/* --home DIR, if given before the command, else NULL (CA_HOME applies). */
extern const char *caadm_home_flag;

int	 cmd_init(int argc, char **argv);
int	 cmd_provisioner(int argc, char **argv);
int	 cmd_certificate(int argc, char **argv);

#endif

/*
 * The ACME options of a provisioner as caadm flags: parse, check and
 * show the JSON object stored in provisioners.options.
 */
#ifndef CAADM_PROVISIONER_OPTIONS_H
#define CAADM_PROVISIONER_OPTIONS_H

#include <stdio.h>
#include <getopt.h>
#include <json-c/json.h>

/* Long options of "provisioner add" and "update", ending with an all-zero
 * entry; their codes are 256 and above. */
extern const struct option provisioner_option_flags[];

/* Help text for those flags. */
extern const char provisioner_option_help[];

/* An options object being edited.  A list flag given at least once
 * replaces the whole stored list with the values of this command. */
struct provisioner_edit {
	struct json_object	*options;	/* owned */
	int			 seen_challenge;
	int			 seen_allow;
	int			 seen_deny;
	int			 seen_caa;
};

/* Apply one flag (code from provisioner_option_flags, value or NULL).
 * Returns 0, or 2 after printing a message that names the value and the
 * fix; 1 on memory exhaustion. */
int	 provisioner_edit_apply(struct provisioner_edit *, int code,
	    const char *value);

/* Check that the lifetimes fit together (minimum <= default <= maximum).
 * Returns 0, or 2 after a message. */
int	 provisioner_edit_check(const struct provisioner_edit *);

/* Print the options as "key=value" pairs separated by spaces, or "-". */
void	 provisioner_options_print(FILE *, struct json_object *options);

/* Format seconds as the largest exact unit ("24h", "90m", "45s"). */
void	 provisioner_duration_format(long long seconds, char *buf,
	    size_t len);

#endif

/*
 * Numbered SQL migrations, compiled in from ca-core/migrations/NNNN_*.sql.
 */
#ifndef CA_MIGRATIONS_H
#define CA_MIGRATIONS_H

#include <stddef.h>

struct migration {
	int		 version;
	const char	*name;
	const char	*sql;
};

extern const struct migration migrations[];
extern const size_t migrations_count;

#endif

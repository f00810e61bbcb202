/*
 * Version of ca-core, printed by --version and in the start line.
 */
#ifndef CA_VERSION_H
#define CA_VERSION_H

#define CA_VERSION	"0.1.0"

#endif

/* version.h - vex's version, as vex-api reports it and the runner introduces itself to MCP servers. */
#ifndef VEX_VERSION_H
#define VEX_VERSION_H

#define VEX_VERSION "0.1.0"

#endif

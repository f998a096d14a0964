/* version.h - this build's version, the user agents it sends, and the
 * Kaspa protocol defaults every mode (sensor, probe, announce, crawl)
 * starts from.  Each is defined here once; the per-network P2P ports
 * live in addr.c's table (network_default_port). */
#ifndef VERSION_H
#define VERSION_H

#define SENSOR_VERSION "0.1.0"

/* userAgent in our Version: the sensor (probes and announces too) and
 * `crawl`.  --user-agent replaces either. */
#define SENSOR_USER_AGENT "/kaspa-sensor:" SENSOR_VERSION "/"
#define CRAWLER_USER_AGENT "/kaspa-sensor-crawler:" SENSOR_VERSION "/"

#define DEFAULT_NETWORK "kaspa-mainnet"

/* protocolVersion we send to a peer that waits for ours (a peer that
 * speaks first is echoed) and in every crawl; --protocol-version. */
#define DEFAULT_PROTOCOL_VERSION 10

/* The sensor listens on DEFAULT_NETWORK's P2P port unless --listen says
 * otherwise: network_default_port(DEFAULT_NETWORK). */
#define DEFAULT_P2P_PORT 16111

/* A number macro's digits as a string literal, for help texts. */
#define VERSION_TEXT(x) VERSION_TEXT_(x)
#define VERSION_TEXT_(x) #x

#endif

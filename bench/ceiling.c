/* ceiling.c - the machine's ceiling for the benchmarks: a server that does
 * nothing but accept() and close(), blocking, on one thread.  Whatever it
 * reaches under the load generator's connect + wait-for-close pattern is
 * what the kernel's TCP stack allows on this machine.
 *
 * usage: ceiling IP:PORT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int parse(const char *s, struct sockaddr_in *sa)
{
	char host[32];
	const char *colon = strrchr(s, ':');

	if (colon == NULL || (size_t)(colon - s) >= sizeof host)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { 0 };
	int one = 1;
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (argc != 2 || parse(argv[1], &sa) != 0) {
		fprintf(stderr, "usage: ceiling IP:PORT\n");
		return 2;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(lfd, 4096) != 0) {
		perror("ceiling: bind/listen");
		return 1;
	}
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd >= 0)
			close(fd);
	}
}

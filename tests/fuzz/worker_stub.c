/*
 * A fake compile worker for fuzz_frames: ignores its arguments, sends the bytes of the file
 * named by PYC_FUZZ_WORKER_REPLY on fd 3 (the pool's socket), closes its sending side and
 * reads requests until the pool hangs up, so the pool sees exactly those bytes, then EOF.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	const char *path = getenv("PYC_FUZZ_WORKER_REPLY");
	int fd = path ? open(path, O_RDONLY) : -1;
	char buf[65536];
	ssize_t n;

	signal(SIGPIPE, SIG_IGN);
	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t off = 0, w; off < n; off += w)
			if ((w = write(3, buf + off, (size_t)(n - off))) <= 0)
				return 1;
	shutdown(3, SHUT_WR);
	while (read(3, buf, sizeof(buf)) > 0)
		;
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "daemonize.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static int write_pid(int fd, pid_t pid)
{
        char buf[32];
        int len = snprintf(buf, sizeof(buf), "%d\n", (int)pid);

        if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
                return -errno;
        if (write(fd, buf, (size_t)len) != len)
                return errno ? -errno : -EIO;
        if (fsync(fd) < 0 && errno != EINVAL)
                return -errno;
        return 0;
}

static void redirect_stdio(void)
{
        int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

        if (fd < 0)
                return;
        (void)dup2(fd, STDIN_FILENO);
        (void)dup2(fd, STDOUT_FILENO);
        /* Keep stderr when it is the journal (systemd Type=forking): that is
         * where our log goes. Anything else (a terminal, a pipe someone reads
         * to EOF) is detached and logging moves to syslog. */
        if (log_get_target() != LOG_TARGET_JOURNAL) {
                (void)dup2(fd, STDERR_FILENO);
                log_set_target(LOG_TARGET_SYSLOG);
        }
        if (fd > STDERR_FILENO)
                close(fd);
}

int daemonize_begin(const char *pidfile, int *ret_ready_fd)
{
        int pidfd, pipefd[2], status, r;
        pid_t child;
        char byte;
        ssize_t n;

        pidfd = open(pidfile, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
        if (pidfd < 0) {
                log_error("Failed to open PIDFILE %s: %s", pidfile, strerror(errno));
                exit(EXIT_FAILURE);
        }
        if (pipe2(pipefd, O_CLOEXEC) < 0) {
                log_error("Failed to create a pipe: %s", strerror(errno));
                exit(EXIT_FAILURE);
        }

        child = fork();
        if (child < 0) {
                log_error("Failed to fork: %s", strerror(errno));
                exit(EXIT_FAILURE);
        }
        if (child == 0) {
                close(pipefd[0]);
                close(pidfd);
                (void)setsid();
                if (chdir("/") < 0) {
                        /* "/" always exists; nothing sensible to do otherwise. */
                }
                redirect_stdio();
                *ret_ready_fd = pipefd[1];
                return 0;
        }

        close(pipefd[1]);
        do
                n = read(pipefd[0], &byte, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1) {
                /* The child died during start-up; it logged why. */
                if (waitpid(child, &status, 0) == child && WIFEXITED(status))
                        exit(WEXITSTATUS(status) ? WEXITSTATUS(status) : EXIT_FAILURE);
                exit(EXIT_FAILURE);
        }
        r = write_pid(pidfd, child);
        if (r < 0) {
                log_error("Failed to write PIDFILE %s: %s", pidfile, strerror(-r));
                (void)kill(child, SIGTERM);
                exit(EXIT_FAILURE);
        }
        close(pidfd);
        exit(EXIT_SUCCESS);
}

void daemonize_ready(int ready_fd)
{
        if (ready_fd < 0)
                return;
        (void)!write(ready_fd, "R", 1);
        close(ready_fd);
}

void daemonize_remove_pidfile(const char *pidfile)
{
        char buf[32], expected[32];

        if (read_file_bounded(pidfile, buf, sizeof(buf), NULL) < 0)
                return;
        snprintf(expected, sizeof(expected), "%d\n", (int)getpid());
        if (strcmp(buf, expected) == 0)
                (void)unlink(pidfile);
}

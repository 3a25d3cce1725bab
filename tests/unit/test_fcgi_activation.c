/*
 * test_fcgi_activation.c - unit tests for fcgi/activation.c: when the
 * LISTEN_PID / LISTEN_FDS pair of systemd socket activation hands this
 * process its socket on fd 3 (only our own pid and exactly one
 * descriptor), when it is someone else's (ignored), when it is ours but
 * unusable (refused); and the inherited-socket lookup on real
 * descriptors: fd 3 must be a listening socket.
 * fcgi/ is not in libswitchyard.a, so the .c file is included.
 * SPDX-License-Identifier: MIT
 */
#include "fcgi/activation.c"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

static void
test_ours(void **state)
{
    (void)state;
    assert_int_equal(sy_fcgi_systemd_fd("1234", "1", 1234), SY_SYSTEMD_FD);
    assert_int_equal(sy_fcgi_systemd_fd("1", "1", 1), SY_SYSTEMD_FD);
}

static void
test_not_ours(void **state)
{
    (void)state;
    /* Absent, or inherited from a socket-activated parent. */
    assert_int_equal(sy_fcgi_systemd_fd(NULL, NULL, 1234), SY_INHERIT_NONE);
    assert_int_equal(sy_fcgi_systemd_fd(NULL, "1", 1234), SY_INHERIT_NONE);
    assert_int_equal(sy_fcgi_systemd_fd("1233", "1", 1234), SY_INHERIT_NONE);
    assert_int_equal(sy_fcgi_systemd_fd("12345", "1", 1234), SY_INHERIT_NONE);
    /* Not a plain positive number: never taken for our pid. */
    static const char *bad_pid[] = { "",      " 1234", "1234 ",
                                     "+1234", "-1234", "1234x",
                                     "0",     "0x4d2", "99999999999999999999" };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad_pid); i++)
        assert_int_equal(sy_fcgi_systemd_fd(bad_pid[i], "1", 1234),
                         SY_INHERIT_NONE);
}

static void
test_ours_but_unusable(void **state)
{
    (void)state;
    /* Several ListenStream= lines, none, or garbage: refuse to start
     * rather than quietly listen on server.listen instead. */
    static const char *bad_fds[] = { NULL, "",   "0",  "2",   "3",
                                     "-1", "1 ", " 1", "01x", "+1" };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad_fds); i++)
        assert_int_equal(sy_fcgi_systemd_fd("1234", bad_fds[i], 1234),
                         SY_INHERIT_BAD);
}

/* Put a socket (listening or not) on fd 3, set the variables for our pid
 * and ask the real lookup. */
static int
inherited_with_fd3(bool listening)
{
    /* Move whatever holds fd 3 aside; the socket may then land on it. */
    int saved = fcntl(SY_SYSTEMD_FD, F_DUPFD, 10); /* -1: fd 3 was free */
    if (saved >= 0)
        close(SY_SYSTEMD_FD);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(s >= 0);
    char path[64];
    snprintf(path, sizeof(path), "/tmp/sy-act-%ld.sock", (long)getpid());
    if (listening) {
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
        unlink(path);
        assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(listen(s, 4), 0);
    }
    if (s != SY_SYSTEMD_FD) {
        assert_int_equal(dup2(s, SY_SYSTEMD_FD), SY_SYSTEMD_FD);
        close(s);
    }
    char pid[32];
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    setenv("LISTEN_PID", pid, 1);
    setenv("LISTEN_FDS", "1", 1);
    int fd = sy_fcgi_inherited_fd();
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    close(SY_SYSTEMD_FD);
    if (saved >= 0) {
        dup2(saved, SY_SYSTEMD_FD);
        close(saved);
    }
    unlink(path);
    return fd;
}

static void
test_inherited(void **state)
{
    (void)state;
    assert_int_equal(inherited_with_fd3(true), SY_SYSTEMD_FD);
    /* fd 3 is there but does not listen: not what systemd hands over. */
    assert_int_equal(inherited_with_fd3(false), SY_INHERIT_BAD);
    /* Variables for another process: fd 0 (not a socket here) decides. */
    setenv("LISTEN_PID", "1", 1);
    setenv("LISTEN_FDS", "1", 1);
    assert_int_equal(sy_fcgi_inherited_fd(), SY_INHERIT_NONE);
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ours),
        cmocka_unit_test(test_not_ours),
        cmocka_unit_test(test_ours_but_unusable),
        cmocka_unit_test(test_inherited),
    };
    return cmocka_run_group_tests_name("fcgi_activation", tests, NULL, NULL);
}

// pause: the process that holds a pod sandbox's namespaces, as Kubernetes' pause image
// runs it. tests/cri/images.sh builds it static (`gcc -static -O2 -DPAUSE_VERSION=...`)
// into the registry.k8s.io/pause images so that the CRI tests download nothing.
//
// As PID 1 of a shared PID namespace it inherits every orphan of the pod, so it reaps
// them; SIGINT and SIGTERM end it with status 0, since the kernel gives PID 1 no
// default action for them and a sandbox must stop on the first signal.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PAUSE_VERSION
#define PAUSE_VERSION "berth"
#endif

static void on_stop(int signo) {
  (void)signo;
  static const char msg[] = "pause: shutting down\n";
  (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
  _exit(0);
}

static void on_child(int signo) {
  (void)signo;
  int saved = errno;  // a handler must not clobber errno for the code it interrupted
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = saved;
}

static int install(int signo, void (*handler)(int), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  if (sigaction(signo, &sa, NULL) < 0) {
    fprintf(stderr, "pause: sigaction %s: %s\n", strsignal(signo), strerror(errno));
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "-v") == 0) {
    printf("pause.c %s\n", PAUSE_VERSION);
    return 0;
  }
  if (getpid() != 1) fprintf(stderr, "pause: warning: not PID 1 of its PID namespace\n");
  if (install(SIGINT, on_stop, 0) < 0 || install(SIGTERM, on_stop, 0) < 0 ||
      install(SIGCHLD, on_child, SA_NOCLDSTOP | SA_RESTART) < 0)
    return 1;
  for (;;) pause();
}

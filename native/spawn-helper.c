/*
 * spawn-helper: starts child processes for the server (or its process host) with posix_spawn,
 * which glibc runs as clone(CLONE_VM | CLONE_VFORK): the parent's memory is not copied, where
 * Node's spawn forks the whole calling process first (milliseconds of CPU per child; see
 * test/bench/RESULTS.md). The host, here the process that started the helper
 * (src/process/spawn-helper.ts), talks to it over its stdin and stdout in frames:
 *
 *   frame := u32 length (little-endian, of what follows) | u8 op | u32 id | payload
 *
 * host -> helper
 *   'S' start child `id`: u8 flags (1: lead a new session; 2: lead a new process group in the
 *       helper's session), then NUL-terminated strings: the
 *       executable's path, the working directory, u32 argc and argc strings (argv), u32 envc and
 *       envc strings (the whole environment). stdin is /dev/null, stdout and stderr are pipes.
 *   'P' / 'R' stop / go on reading stream u8 (1 stdout, 2 stderr) of `id` (the host's buffer is full)
 *   'D' close the pipe of stream u8 of `id` (the host gave it up)
 * helper -> host
 *   's' started: i32 pid        'f' could not start: i32 errno
 *   'o' / 'e' bytes the child wrote to stdout / stderr
 *   'z' stream u8 of `id` ended
 *   'x' the child exited: i32 exit code (-1 when killed), i32 signal (0 when it exited)
 *   'c' `id` is over: exited and both streams ended; nothing more comes for it. u8: 0 when its
 *       process group had no process left then (it is gone for good: a group cannot be joined
 *       once empty), 1 when it still had one
 *
 * Frames are in the machine's byte order, little-endian on every platform this builds for.
 *
 * The helper never signals its children but once: when it must end (its stdin ended because the
 * host is gone, the host stopped reading, a malformed frame), it ends the process group of every
 * child it still tracks, and the child: SIGTERM, then SIGKILL for what is left END_GRACE_MS later
 * (a git stopped so removes its lock files, where SIGKILL left the user's index.lock), then
 * exits. Everything else (stopping groups, deadlines) is
 * the host's, which knows the pids. It ignores SIGINT, SIGTERM and SIGHUP, as the host does: a
 * signal to the host's process group is not for them (its children get default handlers).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the frames' lengths and ids are little-endian"
#endif

#define MAX_CHILDREN 4096
#define CHUNK 65536
#define MAX_FRAME (16u * 1024u * 1024u)

struct child {
  uint32_t id;
  pid_t pid;
  int fd[2]; /* stdout, stderr read ends; -1 once ended */
  int paused[2];
  int exited;
};

static struct child children[MAX_CHILDREN];
static int nchildren;

/*
 * Frames for the host wait here and go in one write (or at once past FLUSH_AT bytes): a child's
 * start, output, ends and exit found close together are one write, and one wake-up of the host,
 * rather than two writes a frame. When they go: COALESCE_MS and HOLD_MS below.
 */
#define FLUSH_AT (256u * 1024u)
static char *out;
static size_t out_length, out_capacity;
/*
 * Frames wait up to COALESCE_MS for more events (a child's exit, its streams' ends and its last
 * output come a moment apart), and never more than HOLD_MS after the first of them.
 */
#define COALESCE_MS 2
#define HOLD_MS 10
static long long first_queued_ms;

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Writes what waits; false when the host is gone (the write failed). */
static int write_out(void) {
  const char *p = out;
  while (out_length > 0) {
    ssize_t n = write(STDOUT_FILENO, p, out_length);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    p += n;
    out_length -= (size_t)n;
  }
  return 1;
}

/* How long the children have to end after SIGTERM before what is left of them is killed. */
#define END_GRACE_MS 2000

static void signal_children(int sig) {
  for (int i = 0; i < nchildren; i++) {
    kill(-children[i].pid, sig);
    if (!children[i].exited) kill(children[i].pid, sig);
  }
}

/* True while a process of a tracked child's group (or the child) is there, once exits are reaped. */
static int children_left(void) {
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  for (int i = 0; i < nchildren; i++)
    if (kill(-children[i].pid, 0) == 0 || kill(children[i].pid, 0) == 0) return 1;
  return 0;
}

/*
 * Ends every tracked child's group and the child (SIGTERM, and SIGKILL END_GRACE_MS later for
 * what is left), then exits: nothing outlives the helper.
 */
static void end_everything(int status) {
  if (status != 2) write_out(); /* what the host may still read; not when it is gone */
  signal_children(SIGTERM);
  long long until = now_ms() + END_GRACE_MS;
  while (children_left() && now_ms() < until) {
    struct timespec pause = {0, 20 * 1000000L};
    nanosleep(&pause, NULL);
  }
  signal_children(SIGKILL);
  _exit(status);
}

static void flush(void) {
  if (!write_out()) end_everything(2); /* the host is gone */
}

static void queue(const void *data, size_t length) {
  if (out_capacity - out_length < length) {
    size_t capacity = out_capacity ? out_capacity : FLUSH_AT;
    while (capacity - out_length < length) capacity *= 2;
    char *grown = realloc(out, capacity);
    if (grown == NULL) end_everything(3);
    out = grown;
    out_capacity = capacity;
  }
  if (out_length == 0) first_queued_ms = now_ms();
  memcpy(out + out_length, data, length);
  out_length += length;
}

static void send_frame(char op, uint32_t id, const void *payload, uint32_t length) {
  unsigned char head[9];
  uint32_t total = 5 + length;
  memcpy(head, &total, 4);
  head[4] = (unsigned char)op;
  memcpy(head + 5, &id, 4);
  queue(head, sizeof head);
  if (length > 0) queue(payload, length);
  if (out_length >= FLUSH_AT) flush();
}

static void send_ints(char op, uint32_t id, int32_t a, int32_t b, int count) {
  int32_t values[2] = {a, b};
  send_frame(op, id, values, (uint32_t)(count * 4));
}

static struct child *find(uint32_t id) {
  for (int i = 0; i < nchildren; i++)
    if (children[i].id == id) return &children[i];
  return NULL;
}

static void end_stream(struct child *c, int which) {
  if (c->fd[which] < 0) return;
  close(c->fd[which]);
  c->fd[which] = -1;
  unsigned char stream = (unsigned char)(which + 1);
  send_frame('z', c->id, &stream, 1);
}

/* Sends 'c' and forgets the child once it exited and both its streams ended. */
static void forget_if_over(struct child *c) {
  if (!c->exited || c->fd[0] >= 0 || c->fd[1] >= 0) return;
  unsigned char lingers = kill(-c->pid, 0) == 0 || errno != ESRCH;
  send_frame('c', c->id, &lingers, 1);
  *c = children[--nchildren];
}

/* Reads a NUL-terminated string at *p (before end); NULL when the frame is malformed. */
static const char *take_string(const char **p, const char *end) {
  const char *s = *p;
  const char *nul = memchr(s, 0, (size_t)(end - s));
  if (nul == NULL) return NULL;
  *p = nul + 1;
  return s;
}

static int take_u32(const char **p, const char *end, uint32_t *value) {
  if (end - *p < 4) return -1;
  memcpy(value, *p, 4);
  *p += 4;
  return 0;
}

/* argc strings into a NULL-terminated array (freed by the caller); NULL when malformed. */
static char **take_strings(const char **p, const char *end) {
  uint32_t count;
  if (take_u32(p, end, &count) < 0 || count > MAX_FRAME / 2) return NULL;
  char **list = calloc(count + 1, sizeof *list);
  if (list == NULL) return NULL;
  for (uint32_t i = 0; i < count; i++) {
    list[i] = (char *)take_string(p, end);
    if (list[i] == NULL) {
      free(list);
      return NULL;
    }
  }
  return list;
}

static void start(uint32_t id, const char *p, const char *end) {
  if (end - p < 1) end_everything(3);
  int new_session = (*p & 1) != 0;
  int new_group = (*p++ & 2) != 0;
  const char *path = take_string(&p, end);
  const char *cwd = path ? take_string(&p, end) : NULL;
  char **argv = cwd ? take_strings(&p, end) : NULL;
  char **envp = argv ? take_strings(&p, end) : NULL;
  if (envp == NULL || p != end) end_everything(3);

  int out[2] = {-1, -1}, err[2] = {-1, -1};
  int error = 0;
  if (nchildren == MAX_CHILDREN) error = EAGAIN;
  if (!error && (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)) error = errno;

  pid_t pid = -1;
  if (!error) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
    posix_spawn_file_actions_addchdir_np(&actions, cwd);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                        (new_session ? POSIX_SPAWN_SETSID
                                         : new_group ? POSIX_SPAWN_SETPGROUP
                                                     : 0));
    error = posix_spawn(&pid, path, &actions, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  free(argv);
  free(envp);
  if (out[1] >= 0) close(out[1]);
  if (err[1] >= 0) close(err[1]);
  if (error) {
    if (out[0] >= 0) close(out[0]);
    if (err[0] >= 0) close(err[0]);
    send_ints('f', id, error, 0, 1);
    return;
  }
  struct child *c = &children[nchildren++];
  *c = (struct child){.id = id, .pid = pid, .fd = {out[0], err[0]}};
  send_ints('s', id, pid, 0, 1);
}

static void command(const char *frame, uint32_t length) {
  if (length < 5) end_everything(3);
  char op = frame[0];
  uint32_t id;
  memcpy(&id, frame + 1, 4);
  const char *p = frame + 5, *end = frame + length;
  if (op == 'S') return start(id, p, end);
  struct child *c = find(id);
  if (c == NULL) return; /* already over */
  if (end - p != 1 || (*p != 1 && *p != 2)) end_everything(3);
  int which = *p - 1;
  if (op == 'D') {
    end_stream(c, which);
    forget_if_over(c);
  } else if (op == 'P' || op == 'R') {
    c->paused[which] = op == 'P';
  } else {
    end_everything(3);
  }
}

static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    for (int i = 0; i < nchildren; i++) {
      struct child *c = &children[i];
      if (c->pid != pid) continue;
      c->exited = 1;
      if (WIFSIGNALED(status))
        send_ints('x', c->id, -1, WTERMSIG(status), 2);
      else
        send_ints('x', c->id, WEXITSTATUS(status), 0, 2);
      forget_if_over(c);
      break;
    }
  }
}

int main(void) {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigfd < 0) return 1;
  fcntl(STDIN_FILENO, F_SETFD, FD_CLOEXEC);
  fcntl(STDOUT_FILENO, F_SETFD, FD_CLOEXEC);

  static char chunk[CHUNK];
  char *input = NULL;
  size_t have = 0, capacity = 0;
  struct pollfd fds[2 + 2 * MAX_CHILDREN];
  struct {
    uint32_t id;
    int which;
  } owners[2 * MAX_CHILDREN];

  for (;;) {
    int n = 0;
    fds[n++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
    fds[n++] = (struct pollfd){.fd = sigfd, .events = POLLIN};
    for (int i = 0; i < nchildren; i++)
      for (int w = 0; w < 2; w++) {
        if (children[i].fd[w] < 0 || children[i].paused[w]) continue;
        owners[n - 2].id = children[i].id;
        owners[n - 2].which = w;
        fds[n++] = (struct pollfd){.fd = children[i].fd[w], .events = POLLIN};
      }
    int timeout = -1;
    if (out_length > 0) {
      long long held = now_ms() - first_queued_ms;
      if (held >= HOLD_MS) flush();
      else timeout = (int)(HOLD_MS - held < COALESCE_MS ? HOLD_MS - held : COALESCE_MS);
    }
    int ready = poll(fds, (nfds_t)n, timeout);
    if (ready < 0) {
      if (errno == EINTR) continue;
      end_everything(1);
    }
    if (ready == 0) {
      flush();
      continue;
    }
    for (int i = 2; i < n; i++) {
      if (!fds[i].revents) continue;
      struct child *c = find(owners[i - 2].id);
      int w = owners[i - 2].which;
      if (c == NULL || c->fd[w] != fds[i].fd) continue;
      ssize_t got = read(c->fd[w], chunk, sizeof chunk);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got > 0) {
        send_frame(w == 0 ? 'o' : 'e', c->id, chunk, (uint32_t)got);
      } else {
        end_stream(c, w);
        forget_if_over(c);
      }
    }
    if (fds[1].revents) {
      struct signalfd_siginfo info;
      while (read(sigfd, &info, sizeof info) == sizeof info) {
      }
      reap();
    }
    if (fds[0].revents) {
      if (capacity - have < CHUNK) {
        capacity = capacity ? capacity * 2 : 2 * CHUNK;
        if (capacity > MAX_FRAME + CHUNK) end_everything(3);
        input = realloc(input, capacity);
        if (input == NULL) end_everything(3);
      }
      ssize_t got = read(STDIN_FILENO, input + have, capacity - have);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) end_everything(0);
      have += (size_t)got;
      size_t used = 0;
      while (have - used >= 4) {
        uint32_t length;
        memcpy(&length, input + used, 4);
        if (length > MAX_FRAME) end_everything(3);
        if (have - used - 4 < length) break;
        command(input + used + 4, length);
        used += 4 + length;
      }
      memmove(input, input + used, have - used);
      have -= used;
    }
  }
}

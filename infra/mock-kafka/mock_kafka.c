/*
 * mock_kafka: librdkafka's in-process mock cluster as a standalone broker for tests.
 *
 * Usage: mock_kafka [--brokers N] [--topic NAME:PARTITIONS]... [--causeway-topics PREFIX]...
 *
 * --causeway-topics PREFIX creates the topics a causeway deployment uses under PREFIX (the
 * mock lacks CreateTopics, so the service cannot): PREFIXevents with 12 partitions (the
 * service's default), PREFIXsequence and PREFIXcontrol with one each. `npm run kafka:mock`
 * runs it with `--causeway-topics causeway.`, the default prefix.
 *
 * Prints "bootstrap HOST:PORT,..." then "ready" on stdout, and serves until stdin closes or
 * SIGTERM/SIGINT arrives. Commands on stdin, one per line, each answered by one line that
 * starts with "ok" or "error":
 *   create TOPIC PARTITIONS   create a topic (the mock does not implement CreateTopics)
 *   down BROKER_ID            drop the broker's connections and refuse new ones (-1: all)
 *   up BROKER_ID              accept connections again (-1: all)
 *   quit                      shut down
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop = 0;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static int create_topic(rd_kafka_mock_cluster_t *mc, int brokers, const char *name, int partitions) {
  if (partitions < 1) return -1;
  int rf = brokers < 3 ? brokers : 3;
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, name, partitions, rf);
  return err == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : (int)err;
}

static void command(rd_kafka_mock_cluster_t *mc, int brokers, char *line) {
  char verb[16], arg[256];
  int n = 0;
  line[strcspn(line, "\r\n")] = '\0';
  if (sscanf(line, "create %255s %d", arg, &n) == 2) {
    int err = create_topic(mc, brokers, arg, n);
    if (err == 0) printf("ok create %s %d\n", arg, n);
    else printf("error create %s: %d\n", arg, err);
  } else if (sscanf(line, "%15s %d", verb, &n) == 2 && (strcmp(verb, "down") == 0 || strcmp(verb, "up") == 0)) {
    rd_kafka_resp_err_t err = strcmp(verb, "down") == 0 ? rd_kafka_mock_broker_set_down(mc, n)
                                                        : rd_kafka_mock_broker_set_up(mc, n);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) printf("ok %s %d\n", verb, n);
    else printf("error %s %d: %s\n", verb, n, rd_kafka_err2str(err));
  } else if (strcmp(line, "quit") == 0) {
    stop = 1;
    printf("ok quit\n");
  } else {
    printf("error unknown command: %s\n", line);
  }
  fflush(stdout);
}

int main(int argc, char **argv) {
  int brokers = 1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) brokers = atoi(argv[++i]);
  }
  if (brokers < 1) {
    fprintf(stderr, "mock_kafka: --brokers must be at least 1\n");
    return 2;
  }

  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* The handle only does the cluster's book keeping; it never connects anywhere. */
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "mock_kafka: %s\n", errstr);
    return 1;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == NULL) {
    fprintf(stderr, "mock_kafka: rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (mc == NULL) {
    fprintf(stderr, "mock_kafka: rd_kafka_mock_cluster_new failed\n");
    rd_kafka_destroy(rk);
    return 1;
  }

  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--causeway-topics") == 0 && i + 1 < argc) {
      static const struct {
        const char *suffix;
        int partitions;
      } layout[] = {{"events", 12}, {"sequence", 1}, {"control", 1}};
      const char *prefix = argv[++i];
      for (size_t t = 0; t < sizeof layout / sizeof layout[0]; t++) {
        char name[256];
        int n = snprintf(name, sizeof name, "%s%s", prefix, layout[t].suffix);
        if (n < 0 || (size_t)n >= sizeof name) {
          fprintf(stderr, "mock_kafka: --causeway-topics %s: prefix too long\n", prefix);
          return 2;
        }
        int err = create_topic(mc, brokers, name, layout[t].partitions);
        if (err != 0) {
          fprintf(stderr, "mock_kafka: cannot create topic %s: %d\n", name, err);
          return 1;
        }
        fprintf(stderr, "mock_kafka: topic %s (%d partition%s)\n", name, layout[t].partitions, layout[t].partitions == 1 ? "" : "s");
      }
    } else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc) {
      char name[256];
      int partitions = 0;
      const char *spec = argv[++i];
      const char *colon = strrchr(spec, ':');
      if (colon == NULL || (size_t)(colon - spec) >= sizeof name || (partitions = atoi(colon + 1)) < 1) {
        fprintf(stderr, "mock_kafka: bad --topic %s (want NAME:PARTITIONS)\n", spec);
        return 2;
      }
      memcpy(name, spec, (size_t)(colon - spec));
      name[colon - spec] = '\0';
      int err = create_topic(mc, brokers, name, partitions);
      if (err != 0) {
        fprintf(stderr, "mock_kafka: cannot create topic %s: %d\n", name, err);
        return 1;
      }
    }
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  printf("bootstrap %s\nready\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);

  char line[512];
  size_t used = 0;
  while (!stop) {
    struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
    int r = poll(&p, 1, 200);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (r == 0) continue;
    ssize_t got = read(STDIN_FILENO, line + used, sizeof line - 1 - used);
    if (got <= 0) break; /* stdin closed: whoever started us is gone */
    used += (size_t)got;
    line[used] = '\0';
    char *nl;
    while ((nl = strchr(line, '\n')) != NULL) {
      *nl = '\0';
      command(mc, brokers, line);
      size_t rest = used - (size_t)(nl + 1 - line);
      memmove(line, nl + 1, rest);
      used = rest;
      line[used] = '\0';
    }
    if (used == sizeof line - 1) used = 0; /* an overlong line: drop it */
  }

  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}

#!/bin/sh
# The start script grace exists for: it starts two processes in the
# background and waits for them, without `exec`. With this shell as PID 1, a
# SIGTERM from `docker stop` or Kubernetes reaches neither process (the
# shell has no handler, and PID 1 ignores signals it does not handle), and
# both are SIGKILLed 10 or 30 seconds later without a chance to shut down.
# Under grace, the SIGTERM goes to the whole process group: both get it.
echo "start.sh: starting the worker and the server"
/app/worker &
/app/server &
wait

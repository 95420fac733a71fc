# pty_chat.py — drives an interactive command through a pseudo-terminal, as a
# person would: `python3 pty_chat.py STEPS_FILE COMMAND...` types each line of
# STEPS_FILE once the prompt ("> " or "... ") is shown, then prints everything
# the terminal showed and exits with the command's exit code (124 if it had to
# be killed after a minute of silence). Two lines are actions, not text:
#   !interrupt   wait until a reply has started streaming, then press Ctrl-C
#   !ctrl-c      wait for the prompt, then press Ctrl-C
import os, pty, select, signal, sys, time

steps = open(sys.argv[1]).read().splitlines()
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
out = b""

SCALE = float(os.environ.get("TL_TIME_SCALE") or 1)  # slower builds stretch the deadline

def pump(until=None, timeout=60.0):
    """Reads output until `until(new_bytes)` holds, the terminal closes or the timeout passes."""
    global out
    start, end = len(out), time.time() + timeout * SCALE
    while time.time() < end:
        if until is not None and until(out[start:]):
            return True
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                return False
            if not data:
                return False
            out += data
    return False

prompt = lambda new: new.endswith(b"> ") or new.endswith(b"... ")
for step in steps:
    if step == "!interrupt":
        pump(lambda new: len(new) >= 40)  # the echoed line, then the reply streaming
        os.write(fd, b"\x03")
        continue
    pump(prompt)
    time.sleep(0.1)
    os.write(fd, b"\x03" if step == "!ctrl-c" else step.encode() + b"\r")
closed = not pump(lambda new: False)  # False: the terminal closed before the timeout
code = 124
if closed:
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
else:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace"))
sys.exit(code)

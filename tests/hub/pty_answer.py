# pty_answer.py — runs a command in a pseudo-terminal, answers its "[Y/n] "
# question with ANSWER, prints all the terminal showed and exits with the
# command's exit code (124 when it had to be killed after a minute of
# silence). For `tinyllm run NAME` asking before it pulls (test_pull.sh).
#   python3 pty_answer.py ANSWER COMMAND...
import os, pty, select, signal, sys, time

answer = sys.argv[1].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
SCALE = float(os.environ.get("TL_TIME_SCALE") or 1)
out, answered, end = b"", False, time.time() + 60 * SCALE
while time.time() < end:
    r, _, _ = select.select([fd], [], [], 0.05)
    if not r:
        continue
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
    end = time.time() + 60 * SCALE
    if not answered and out.endswith(b"[Y/n] "):
        os.write(fd, answer + b"\n")
        answered = True
else:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    sys.stdout.write(out.decode(errors="replace"))
    sys.exit(124)
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128)

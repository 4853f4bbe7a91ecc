"""Drives `gridlake sql` through a pseudo-terminal, as a person would (tests/shell.rs runs it).

argv: gridlake binary, lake, history dir, phase ("first" or "second"). Prints everything the REPL wrote.
Only the standard library: pty + select, no pexpect.
"""
import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time

binary, lake, history, phase = sys.argv[1:5]
master, slave = pty.openpty()
# A wide terminal, so tables are not wrapped.
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 250, 0, 0))
env = dict(os.environ, GRIDLAKE_HISTORY_DIR=history, TERM="xterm")
proc = subprocess.Popen(
    [binary, "sql", "--lake", lake],
    stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True, start_new_session=True,
)
os.close(slave)
out = b""


def wait_for(marker, timeout=60):
    """Reads until `marker` appears in what came after the last call, answering cursor-position queries."""
    global out
    start = len(out)
    deadline = time.time() + timeout
    while time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if b"\x1b[6n" in chunk:
            os.write(master, b"\x1b[1;1R")
        if marker.encode() in out[start:]:
            return
    sys.stdout.write(out.decode(errors="replace"))
    sys.exit(f"timed out waiting for {marker!r}")


def send(keys):
    os.write(master, keys.encode())


wait_for("for help")
if phase == "first":
    # A statement over two lines: the first line has no `;`, so the REPL waits for more.
    send("SELECT day, state\r")
    time.sleep(0.2)
    send("FROM gaps('caiso_lmp_dam', '2018-11-06', '2018-11-10');\r")
    wait_for("rows in")
    send("\\d\r")
    wait_for("ledger_log")
    send("\\gaps caiso_lmp_dam 2018-11-06 2018-11-10\r")
    wait_for("rows in")
    # Tab completes the table name.
    send("\\d reach_dos\t")
    time.sleep(0.3)
    send("\r")
    wait_for("id_sensor")
else:
    # History of the first start: Up ×3 is its `\gaps` line (then `\d reach_dosimeter`, then `\q`).
    send("\x1b[A")
    time.sleep(0.1)
    send("\x1b[A")
    time.sleep(0.1)
    send("\x1b[A")
    time.sleep(0.2)
    send("\r")
    wait_for("rows in")
send("\\q\r")
try:
    code = proc.wait(timeout=30)
except subprocess.TimeoutExpired:
    proc.kill()
    sys.stdout.write(out.decode(errors="replace"))
    sys.exit("the REPL did not quit on \\q")
try:
    while True:
        ready, _, _ = select.select([master], [], [], 0.1)
        if not ready:
            break
        chunk = os.read(master, 65536)
        if not chunk:
            break
        out += chunk
except OSError:
    pass
sys.stdout.write(out.decode(errors="replace"))
if code != 0:
    sys.exit(f"exit code {code}")
